"""A step that would fail the same way on every attempt is not retried as a lost
connection (issue 20 §4): ``retrying`` hands it to ``give_up`` (the engine fails
its job) instead of leaving it to be claimed again, process after process."""

from __future__ import annotations

import asyncpg
import pytest

from hotmesh import errors
from hotmesh.engine.router import retrying
from hotmesh.store.faults import transient


class Failing:
    """An action that raises ``errors`` in turn, then succeeds."""

    def __init__(self, *raises: Exception) -> None:
        self.raises = list(raises)
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.raises:
            raise self.raises.pop(0)


class Recorder:
    def __init__(self) -> None:
        self.given: list[Exception] = []

    async def __call__(self, exc: Exception) -> None:
        self.given.append(exc)


async def test_a_failure_that_would_repeat_gives_up_at_once() -> None:
    action = Failing(*(RecursionError("too deep") for _ in range(20)))
    give_up = Recorder()
    await retrying(action, "step", give_up=give_up)
    assert action.calls == 1  # not retried here, nor claimed again elsewhere
    assert len(give_up.given) == 1 and isinstance(give_up.given[0], RecursionError)


async def test_the_database_away_is_retried_until_it_comes_back() -> None:
    action = Failing(*(errors.StoreUnavailableError("away") for _ in range(3)))
    give_up = Recorder()
    await retrying(action, "step", give_up=give_up)
    assert action.calls == 4 and give_up.given == []


async def test_a_raw_lost_connection_does_not_fail_the_job() -> None:
    action = Failing(ConnectionResetError("reset"))
    give_up = Recorder()
    await retrying(action, "step", give_up=give_up)
    # left to the claim's expiry: another try, maybe in another process
    assert action.calls == 1 and give_up.given == []


async def test_without_give_up_a_failure_is_only_logged() -> None:
    action = Failing(ValueError("bad"))
    await retrying(action, "step")
    assert action.calls == 1


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (asyncpg.exceptions.AdminShutdownError("restart"), True),
        (asyncpg.exceptions.SerializationError("retry"), True),
        (asyncpg.exceptions.DeadlockDetectedError("retry"), True),
        (asyncpg.exceptions.NotNullViolationError("null visible_at"), False),
        (RecursionError(), False),
        (ValueError(), False),
    ],
)
def test_transient(exc: Exception, expected: bool) -> None:
    assert transient(exc) is expected
