"""The CLI's log lines: a worker failure in one line, with the traceback under --debug."""

from __future__ import annotations

import logging

import pytest

from hotmesh.cli import _log_to_stderr


def _boom() -> None:
    raise ValueError("cannot count to 3")


@pytest.fixture(autouse=True)
def _restore_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("hotmesh", "hotmesh.notice"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
        monkeypatch.setattr(logger, "propagate", logger.propagate)
        monkeypatch.setattr(logger, "level", logger.level)


def _log_failure() -> None:
    try:
        _boom()
    except ValueError as exc:
        logging.getLogger("hotmesh").warning(
            "worker %s failed on job %s (activity %s)", "t", "j-1", "w1", exc_info=exc
        )


def test_without_debug_a_worker_failure_is_one_line_with_type_and_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _log_to_stderr(debug=False)
    _log_failure()
    assert capsys.readouterr().err == (
        "hotmesh: WARNING worker t failed on job j-1 (activity w1): "
        "ValueError: cannot count to 3\n"
    )


def test_with_debug_a_worker_failure_shows_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _log_to_stderr(debug=True)
    _log_failure()
    err = capsys.readouterr().err
    assert err.startswith(
        "hotmesh: WARNING hotmesh: worker t failed on job j-1 (activity w1)\n"
        "Traceback (most recent call last):\n"
    )
    assert "in _boom" in err and err.endswith("ValueError: cannot count to 3\n")


def test_the_embedded_notice_is_a_plain_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _log_to_stderr(debug=False)
    logging.getLogger("hotmesh.notice").warning("using embedded PostgreSQL at /x")
    assert capsys.readouterr().err == "hotmesh: using embedded PostgreSQL at /x\n"
