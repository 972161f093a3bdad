"""The clock the engine and the scheduler read: the system's, or one a test moves.

Everything that decides *when* (a job's timestamps, which schedule ticks are due,
how long the scheduler sleeps) asks ``Clock.now()`` and waits with
``Clock.sleep_until()``, so a test can move a ``ManualClock`` forward a day and
see the day's ticks fire at once instead of waiting for them. Message
visibility (timers, retries) follows the database's ``now()``: the
time-skipping test environment (``hotmesh.testing.WorkflowEnvironment``) runs
on a ``SkippingClock`` and brings those messages closer by what it skips.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of aware UTC datetimes and a way to wait for one."""

    def now(self) -> datetime:
        """The current time (timezone-aware, UTC)."""
        ...

    async def sleep_until(self, when: datetime, cap: float) -> None:
        """Return once ``when`` has come, or after ``cap`` real seconds at most."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, cap: float) -> None:
        delay = (when - self.now()).total_seconds()
        await asyncio.sleep(max(0.0, min(delay, cap)))


class ManualClock:
    """A clock that stands still until ``advance`` or ``set`` moves it.

    Sleepers wake as soon as the clock passes their time (or at their real
    ``cap``), so code waiting for 09:00 runs the moment a test moves the clock
    to 09:00.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        """Move to ``when`` (never backwards: time in a test only moves on)."""
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware time")
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError(f"cannot move the clock back from {self._now} to {when}")
        self._now = when
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def advance(self, seconds: float | timedelta) -> None:
        """Move forward by ``seconds`` (or a ``timedelta``)."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        self.set(self._now + step)

    async def sleep_until(self, when: datetime, cap: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, cap)
        while self._now < when:
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self._moved.wait(), left)
            except TimeoutError:
                return


class SkippingClock:
    """Real time plus the time a test skipped: ``skip`` jumps ahead at once.

    Time runs on as it does for the database (so timers stored against the
    database's ``now()`` keep their order), and a skip moves every reader of
    this clock forward together; sleepers wake to check again.
    """

    def __init__(self) -> None:
        self._skipped = 0.0
        self._moved = asyncio.Event()

    @property
    def skipped(self) -> float:
        """Seconds skipped so far."""
        return self._skipped

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._skipped)

    def skip(self, seconds: float) -> None:
        """Jump ``seconds`` ahead (never back)."""
        if seconds < 0:
            raise ValueError(f"cannot skip back in time ({seconds} s)")
        self._skipped += seconds
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def sleep_until(self, when: datetime, cap: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, cap)
        while True:
            left = min((when - self.now()).total_seconds(), deadline - loop.time())
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self._moved.wait(), left)
            except TimeoutError:
                pass


#: the clock every ``HotMesh`` uses unless given another
SYSTEM = SystemClock()
