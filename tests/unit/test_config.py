"""Unit tests for hotmesh.config: DSN resolution order, masking, schema names."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hotmesh import config, embedded, errors

FAKE_EMBEDDED = "postgresql://postgres@/hotmesh?host=/fake/pgdata&port=5432"


@pytest.fixture
def fake_embedded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace the embedded server with a stub; the list counts its starts."""
    calls: list[int] = []

    def ensure_started() -> embedded.EmbeddedServer:
        calls.append(1)
        return embedded.EmbeddedServer(
            data_dir=Path("/fake/pgdata"), dsn=FAKE_EMBEDDED, pid=42
        )

    monkeypatch.setattr(embedded, "ensure_started", ensure_started)
    monkeypatch.setattr(config, "_announced", False)
    return calls


# --------------------------------------------------------------------------
# resolve_dsn


def test_explicit_dsn_wins_over_environment(
    monkeypatch: pytest.MonkeyPatch, fake_embedded: list[int]
) -> None:
    monkeypatch.setenv("HOTMESH_DSN", "postgresql://env-hotmesh/db")
    monkeypatch.setenv("DATABASE_URL", "postgresql://env-database-url/db")
    assert config.resolve_dsn("postgresql://explicit/db") == "postgresql://explicit/db"
    assert fake_embedded == []


def test_hotmesh_dsn_wins_over_database_url(
    monkeypatch: pytest.MonkeyPatch, fake_embedded: list[int]
) -> None:
    monkeypatch.setenv("HOTMESH_DSN", "postgresql://env-hotmesh/db")
    monkeypatch.setenv("DATABASE_URL", "postgresql://env-database-url/db")
    assert config.resolve_dsn() == "postgresql://env-hotmesh/db"
    assert fake_embedded == []


def test_database_url_used_when_hotmesh_dsn_absent_or_blank(
    monkeypatch: pytest.MonkeyPatch, fake_embedded: list[int]
) -> None:
    monkeypatch.setenv("HOTMESH_DSN", "   ")
    monkeypatch.setenv("DATABASE_URL", " postgresql://env-database-url/db ")
    assert config.resolve_dsn("") == "postgresql://env-database-url/db"
    assert fake_embedded == []


def test_embedded_fallback_announces_once_through_logging(
    monkeypatch: pytest.MonkeyPatch,
    fake_embedded: list[int],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # an in-process CLI test may have given these loggers handlers of their own
    for name in ("hotmesh", "hotmesh.notice"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "propagate", True)
    caplog.set_level(logging.INFO, logger="hotmesh.notice")
    assert config.resolve_dsn() == FAKE_EMBEDDED
    assert config.resolve_dsn(None) == FAKE_EMBEDDED
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")  # no print
    notices = [
        (r.name, r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "hotmesh.notice"
    ]
    assert notices == [
        (
            "hotmesh.notice",
            logging.WARNING,
            "using embedded PostgreSQL at /fake/pgdata "
            "(set DATABASE_URL to use your own)",
        )
    ]
    assert len(fake_embedded) == 2  # asked each time; the server reuses itself


def test_configured_dsn_is_not_announced(
    monkeypatch: pytest.MonkeyPatch,
    fake_embedded: list[int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@h/db")
    config.resolve_dsn()
    assert capsys.readouterr().err == ""
    assert fake_embedded == []


def test_configured_dsn_reports_none_without_configuration() -> None:
    assert config.configured_dsn() is None
    assert config.configured_dsn("  ") is None


# --------------------------------------------------------------------------
# mask_dsn


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        (
            "postgres://user:p%40ss%3Aw@host:6543/db?sslmode=require",
            "postgres://user:***@host:6543/db?sslmode=require",
        ),
        # The last "@" ends the userinfo, even when the password holds one raw.
        ("postgresql://user:a@b@host/db", "postgresql://user:***@host/db"),
        ("postgresql://:secret@host/db", "postgresql://:***@host/db"),
        (
            "postgresql://user@host/db?password=secret&sslmode=disable",
            "postgresql://user@host/db?password=***&sslmode=disable",
        ),
        (
            "postgresql://u:one@host/db?PASSWORD=two",
            "postgresql://u:***@host/db?PASSWORD=***",
        ),
        (
            "host=localhost user=u password=secret dbname=d",
            "host=localhost user=u password=*** dbname=d",
        ),
        ("host=h password = 'se cret' user=u", "host=h password = *** user=u"),
        # Nothing to hide: unchanged.
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        (
            "postgresql://postgres@/hotmesh?host=/tmp/x/pgdata&port=5432",
            "postgresql://postgres@/hotmesh?host=/tmp/x/pgdata&port=5432",
        ),
        ("host=localhost dbname=d", "host=localhost dbname=d"),
    ],
)
def test_mask_dsn_hides_passwords(dsn: str, masked: str) -> None:
    assert config.mask_dsn(dsn) == masked


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:hunter2@h/db",
        "postgresql://u@h/db?password=hunter2",
        "user=u password=hunter2",
        "postgresql://u:hunter2@[::1/db",  # unparseable bracketed host
    ],
)
def test_mask_dsn_never_leaks_the_secret(dsn: str) -> None:
    assert "hunter2" not in config.mask_dsn(dsn)


# --------------------------------------------------------------------------
# schema names


@pytest.mark.parametrize(
    "name", ["", "Hotmesh", "1abc", "a-b", "a b", "x" * 64, "drop;table", "é"]
)
def test_bad_schema_names_are_refused(name: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        config.validate_name(name, "schema name")
    message = str(caught.value)
    assert "schema name" in message and repr(name) in message
    assert "a-z, 0-9 and _" in message


@pytest.mark.parametrize("name", ["a", "_x", "hotmesh", "tenant_42", "x" * 63])
def test_good_schema_names_are_accepted(name: str) -> None:
    assert config.validate_name(name, "schema name") == name
