"""The consumers' retry loop runs a step again only when the database was
away or the transaction lost a race; any other error fails at once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from hotmesh import errors
from hotmesh.engine.router import retrying


def _failing(
    *failures: BaseException,
) -> tuple[list[int], Callable[[], Awaitable[None]]]:
    calls: list[int] = []

    async def action() -> None:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]

    return calls, action


async def test_a_bug_fails_at_once(caplog: pytest.LogCaptureFixture) -> None:
    calls, action = _failing(KeyError("missing"), KeyError("missing"))
    await retrying(action, "step")
    assert len(calls) == 1
    assert "step failed" in caplog.text and "KeyError" in caplog.text


async def test_a_hotmesh_error_that_is_not_transient_fails_at_once() -> None:
    calls, action = _failing(errors.InvalidDataError("NUL"))
    await retrying(action, "step")
    assert len(calls) == 1


async def test_unavailability_and_conflicts_are_retried_until_it_works() -> None:
    calls, action = _failing(
        errors.StoreUnavailableError("restarting"),
        errors.TransactionConflictError("deadlock"),
    )
    await retrying(action, "step")
    assert len(calls) == 3


async def test_retries_stop_when_stopping(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    calls, action = _failing(*[errors.StoreUnavailableError("away")] * 5)
    await retrying(action, "step", stopping=lambda: True)
    assert len(calls) == 1
    assert "failed after 1 tries" in caplog.text
