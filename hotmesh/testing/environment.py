"""A time-skipping MemFlow environment for tests.

``async with await WorkflowEnvironment.start_time_skipping() as env:`` gives a
throwaway database (the same server choice as the pytest plugin), a
``SkippingClock`` that every MemFlow part opened with ``env.connection`` reads
(timestamps, ``workflow.now()``, condition deadlines, delayed starts,
schedules), and a client whose ``handle.result()`` lets time skip.

Timers (sleeps, wait timeouts, retry back-offs) are messages the database
makes visible at its own ``now()`` plus their delay. A skip moves the clock
and brings every such message as much closer, then wakes the streams' consumers
(a NOTIFY, as for new messages): order and spacing between timers stay as they
were, only the wait goes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from typing import Any, Self

from hotmesh import errors
from hotmesh.clock import SkippingClock
from hotmesh.durations import seconds
from hotmesh.engine import notes
from hotmesh.memflow import worker as _worker
from hotmesh.memflow.client import Client, WorkflowClient, WorkflowHandle
from hotmesh.store.timeskip import Pending, TimeSkip
from hotmesh.telemetry import logs
from hotmesh.testing.plugin import server_dsn, throwaway_database

log = logs.get("hotmesh.testing")

#: seconds between two looks at what the database waits for
POLL = 0.01
#: real seconds ``sleep`` waits for due work to settle before moving on
SETTLE_LIMIT = 10.0
#: the origin of the environment's NOTIFYs (no process's own: all act on them)
ORIGIN = "timeskip"


class _SkippingHandle(WorkflowHandle[Any]):
    """A handle whose ``result()`` lets the environment skip time while it waits."""

    async def result(
        self, timeout: float | None = None, throw_on_error: bool = True
    ) -> Any:
        client = self.client
        if not isinstance(client, _EnvClient):
            return await super().result(timeout, throw_on_error)
        with client.env.auto_skipping():
            return await super().result(timeout, throw_on_error)


class _SkippingWorkflows(WorkflowClient):
    handle_type = _SkippingHandle


class _EnvClient(Client):
    """The environment's MemFlow client: its handles skip time in ``result()``."""

    def __init__(self, config: Mapping[str, Any], env: WorkflowEnvironment) -> None:
        super().__init__(config)
        self.env = env
        self.workflow = _SkippingWorkflows(self)


class WorkflowEnvironment:
    """MemFlow on a throwaway database with a clock that skips.

    While a ``result()`` of ``env.client`` waits and nothing can run (every
    workflow waits on a timer, a delayed start or a schedule tick), the clock
    jumps to the next of them. ``await env.sleep("2h")`` moves time by hand.
    Give ``env.connection`` to ``MemFlow.Worker.create`` and
    ``register_activity_worker`` so they run on the environment's clock.
    """

    def __init__(self, dsn: str, namespace: str | None, stack: AsyncExitStack) -> None:
        #: the environment's database
        self.dsn = dsn
        #: the clock every part opened with ``connection`` reads
        self.clock = SkippingClock()
        #: the ``connection`` of a MemFlow config on this environment
        self.connection: dict[str, Any] = {
            "dsn": dsn,
            "options": {"clock": self.clock},
        }
        config: dict[str, Any] = {"connection": self.connection}
        if namespace:
            config["namespace"] = namespace
        #: a MemFlow client on this environment
        self.client: Client = _EnvClient(config, self)
        self._stack = stack
        self._waiting = 0
        self._wanted = asyncio.Event()
        self._jump = asyncio.Lock()
        self._skip: TimeSkip | None = None
        self._auto: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def start_time_skipping(
        cls, dsn: str | None = None, *, namespace: str | None = None
    ) -> WorkflowEnvironment:
        """Start on a new database of the test server (``HOTMESH_TEST_DSN``, else
        127.0.0.1:5432, else the embedded server), dropped at ``shutdown``;
        or on ``dsn`` as it is (its timers will be moved: give it a database
        of its own)."""
        stack = AsyncExitStack()
        env: WorkflowEnvironment | None = None
        try:
            if dsn is None:
                dsn = await stack.enter_async_context(
                    throwaway_database(server_dsn(), prefix="hm_env_")
                )
            env = cls(dsn, namespace, stack)
            # opened first, the shared connection on this database runs on the
            # environment's clock for every part of this process
            hm = await env.client.mesh()
            if hm.clock is not env.clock:
                raise errors.ConfigError(
                    "WorkflowEnvironment: a MemFlow connection to this database "
                    "is already open in this process on another clock; start the "
                    "environment first and give env.connection to the workers"
                )
        except BaseException:
            if env is not None:
                await env.client.close()  # only our share: not another's parts
            await stack.aclose()
            raise
        # at shutdown, every MemFlow part left open on the database stops
        stack.push_async_callback(_worker.shutdown, dsn)
        env._skip = TimeSkip(hm.store)
        env._auto = asyncio.get_running_loop().create_task(env._auto_skip())
        return env

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop the skipping, every MemFlow part on the database, and drop it."""
        if self._closed:
            return
        self._closed = True
        if self._auto is not None:
            self._auto.cancel()
            await asyncio.gather(self._auto, return_exceptions=True)
        await self.client.close()
        await self._stack.aclose()

    # -- moving time ---------------------------------------------------------
    async def sleep(self, duration: float | str) -> None:
        """Move time ``duration`` ahead (seconds or ``"2h"``), stopping at each
        timer, delayed start or schedule tick on the way and letting the work
        it starts settle (up to ``SETTLE_LIMIT`` real seconds each) before the
        next: a workflow that sleeps twice within ``duration`` wakes twice."""
        left = seconds(duration, "env.sleep duration")
        while True:
            ahead = await self._settled(SETTLE_LIMIT)
            if ahead is None or ahead > left:
                await self._move(left)
                return
            await self._move(ahead)
            left -= ahead

    @contextlib.contextmanager
    def auto_skipping(self) -> Iterator[None]:
        """Within this block, time skips to the next timer whenever nothing
        can run (``result()`` of ``env.client``'s handles uses it)."""
        self._waiting += 1
        self._wanted.set()
        try:
            yield
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self._wanted.clear()

    async def _auto_skip(self) -> None:
        while True:
            await self._wanted.wait()
            try:
                idle = await self._idle()
            except Exception as exc:  # the skipping must outlive a bad moment
                log.warning("time skipping: cannot read the database (%s)", exc)
                idle = None
            ahead = None if idle is None else _ahead(self.clock, idle)
            if ahead is not None and self._waiting:
                await self._move(ahead)
            else:
                await asyncio.sleep(POLL)

    async def _settled(self, limit: float) -> float | None:
        """Wait (up to ``limit`` s) until nothing can run; then how far ahead
        the next timer, delayed start or tick is (None: none, or no settling)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            idle = await self._idle()
            if idle is not None:
                return _ahead(self.clock, idle)
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(POLL)

    async def _idle(self) -> Pending | None:
        """What the database waits for when nothing can run, seen twice a poll
        apart (work passing from one row to the next is not idleness); None
        while something can run."""
        if _due_now(self.clock, await self._pending()):
            return None
        await asyncio.sleep(POLL)
        second = await self._pending()
        return None if _due_now(self.clock, second) else second

    async def _pending(self) -> Pending:
        if self._skip is None:
            raise errors.ConfigError("the environment is not started")
        return await self._skip.pending()

    async def _move(self, ahead: float) -> None:
        """Skip ``ahead`` seconds: the clock, then every timer, then wake them."""
        if ahead <= 0 or self._skip is None:
            return
        async with self._jump:
            moved = await self._skip.shift(ahead)
            self.clock.skip(ahead)
            for app, stream in moved:
                note = notes.Messages(app, stream, 0.0, ORIGIN)
                await self._skip.store.notify(notes.encode(note))


def _due_now(clock: SkippingClock, pending: Pending) -> bool:
    """Something can run or runs now: a message, a due delayed start or tick."""
    now = clock.now()
    due = [t for t in (pending.start_at, pending.tick_at) if t is not None]
    return pending.busy > 0 or any(t <= now for t in due)


def _ahead(clock: SkippingClock, pending: Pending) -> float | None:
    """Seconds to the next timer, delayed start or tick (None: nothing waits)."""
    now = clock.now()
    times = [
        (t - now).total_seconds()
        for t in (pending.start_at, pending.tick_at)
        if t is not None
    ]
    if pending.message_in is not None:
        times.append(pending.message_in)
    positive = [t for t in times if t > 0]
    return min(positive) + 0.001 if positive else None
