"""Waiting in tests without sleeping: on what a callback changes, or on a
condition re-checked when the engine's NOTIFY channel speaks (what only the
database, or another process, can tell).

Each wait is bounded and fails with an ``AssertionError`` saying what did not
happen, instead of hanging until pytest's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg

#: seconds between re-checks of a database condition when no NOTIFY comes (a
#: step whose work stays in its process notifies no one)
RECHECK = 0.25


class Changes:
    """State that callbacks change: ``until`` wakes at each ``changed()`` call,
    not on a timer. Call ``changed()`` on the event loop, after the change."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def changed(self) -> None:
        """Wake the waiters: they check their condition again."""
        self._event.set()

    async def until(
        self, condition: Callable[[], bool], timeout: float, what: str
    ) -> None:
        """Return once ``condition()`` holds; fail naming ``what`` after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    self._event.clear()
                    await self._event.wait()
        except TimeoutError:
            raise AssertionError(f"{what}: not within {timeout} s") from None


async def until_notified(
    dsn: str,
    condition: Callable[[], Awaitable[bool] | bool],
    timeout: float,
    what: str,
    schema: str = "hotmesh",
) -> None:
    """Return once ``condition()`` (awaited when it returns an awaitable) holds.

    It is checked again at each NOTIFY on the schema's channel (a commit that
    wakes another process, a completion someone waits for, a limit change) and
    every ``RECHECK`` seconds for the commits that notify no one; after
    ``timeout`` the wait fails naming ``what``.
    """
    heard = asyncio.Event()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener(f"hotmesh_{schema}", lambda *_: heard.set())
        while True:
            heard.clear()  # before the check: a NOTIFY during it is kept
            holds = condition()
            if holds if isinstance(holds, bool) else await holds:
                return
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"{what}: not within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(heard.wait(), min(RECHECK, left))
    finally:
        await listener.close()
