"""One attempt of a MemFlow activity: its context (``activity.info()``), its
heartbeats, its timeouts, and the answer the engine records.

Heartbeats. ``activity.heartbeat(*details)`` keeps the latest details and
writes them to ``activity_heartbeats`` at most once per throttle interval
(``HEARTBEAT_THROTTLE``, or 0.8 of the ``heartbeat_timeout`` when that is
shorter): the first at once, later ones coalesced, the latest winning. An
attempt that fails writes what is pending before it answers, so the next
attempt starts from it; a worker that is killed loses at most one interval
of details. The next attempt (here or in any process) reads them as
``activity.info().heartbeat_details``.

What a heartbeat learns. Each write answers whether the workflow has a
cancellation in its inbox, or has ended; a cancellation announced to this
process makes the next heartbeat write at once. Then the activity stops: a
coroutine activity's task is cancelled (``asyncio.CancelledError`` at its
await point) and every later ``heartbeat()`` raises ``CancelledError``. The
attempt is recorded as a ``CancelledError`` failure, not retried; the
workflow sees the cancellation at that call.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hotmesh import errors
from hotmesh.clock import Clock, SystemClock
from hotmesh.engine.retry import RetryPolicy
from hotmesh.memflow.proxy import TIMEOUTS
from hotmesh.store.heartbeats import HeartbeatRows
from hotmesh.telemetry import logs

log = logs.get("hotmesh.memflow")

#: seconds between two heartbeat writes of one attempt, at most one each
HEARTBEAT_THROTTLE = 1.0
#: timeouts that end the activity (not retried), as Temporal's
_FINAL_TIMEOUTS = ("schedule_to_start", "schedule_to_close")


@dataclass
class Env:
    """What an attempt needs from its process."""

    #: the heartbeat table (None: heartbeats are kept in memory only)
    rows: HeartbeatRows | None = None
    #: workflows whose cancellation was announced to this process
    cancels: set[str] = field(default_factory=set)
    clock: Clock = field(default_factory=SystemClock)


class Beats:
    """One attempt's heartbeats: the latest details, written throttled."""

    def __init__(
        self,
        env: Env,
        namespace: str,
        workflow_id: str,
        marker: str,
        attempt: int,
        limits: dict[str, float],
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.env, self.namespace = env, namespace
        self.workflow_id, self.marker, self.attempt = workflow_id, marker, attempt
        hb = limits.get("heartbeat_timeout")
        self.throttle = (
            HEARTBEAT_THROTTLE if hb is None else min(HEARTBEAT_THROTTLE, hb * 0.8)
        )
        #: loop time of the last heartbeat (the attempt's start before any)
        self.last = self.loop.time()
        self.pending: list[Any] | None = None
        self.written = -math.inf
        self.writes = 0
        self.urgent = False
        self.closing = False
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        #: why the activity must stop (its workflow cancelled or ended)
        self.stop_reason: str | None = None
        #: a coroutine activity's task: cancelled when it must stop
        self.task: asyncio.Task[Any] | None = None

    def beat(self, details: list[Any]) -> None:
        """Note ``details`` (from the activity's loop or its thread);
        ``CancelledError`` once the activity must stop."""
        if self.stop_reason is not None:
            raise asyncio.CancelledError(self.stop_reason)
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            here = False
        if here:
            self._note(details)
            return
        try:
            self.loop.call_soon_threadsafe(self._note, details)
        except RuntimeError:  # the loop is closed: an abandoned thread beats on
            pass

    def _note(self, details: list[Any]) -> None:
        self.last = self.loop.time()
        if self.closing:
            return
        self.pending = details
        if self.workflow_id in self.env.cancels:
            self.urgent = True  # announced: ask the database now
            self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = self.loop.create_task(self._write_loop())

    async def _write_loop(self) -> None:
        while self.pending is not None and not self.closing:
            wait = self.written + self.throttle - self.loop.time()
            if wait > 0 and not self.urgent:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            await self._write()

    async def _write(self) -> None:
        details, self.pending = self.pending, None
        self.urgent = False
        self.written = self.loop.time()
        if details is None or self.env.rows is None:
            return
        try:
            answer = await self.env.rows.write(
                self.namespace, self.workflow_id, self.marker, details, self.attempt
            )
        except Exception as exc:  # a heartbeat must not fail the activity
            log.warning("heartbeat of %s not written: %s", self.marker, exc)
            if self.pending is None:
                self.pending = details  # the next write carries it
            return
        self.writes += 1
        if answer.cancel:
            self._stop(f"workflow '{self.workflow_id}' was cancelled")
        elif not answer.running:
            self._stop(f"workflow '{self.workflow_id}' is no longer running")

    def _stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            if self.task is not None and not self.task.done():
                self.task.cancel(reason)

    async def close(self, flush: bool) -> None:
        """The attempt is over: no more writes; ``flush`` writes what is
        pending first (for the next attempt)."""
        self.closing = True
        self._wake.set()
        if self._writer is not None:
            await asyncio.wait({self._writer})
        if flush and self.pending is not None:
            await self._write()


def ours() -> bool:
    """Whether our own handler is being cancelled (the worker stops)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def supervise(
    name: str,
    fn: Callable[..., Any],
    args: list[Any],
    limits: dict[str, float],
    beats: Beats,
    left: float | None,
) -> Any:
    """Run the activity; ``ActivityTimeoutError`` when its start_to_close,
    heartbeat or remaining schedule_to_close time (``left``) runs out."""
    loop = asyncio.get_running_loop()
    if inspect.iscoroutinefunction(fn):
        task = loop.create_task(fn(*args))
        beats.task = task
    else:
        # a plain function runs in a worker thread (with this context) so a
        # blocking one does not stall the loop; it cannot be stopped: at a
        # timeout it runs on, unheard, and it hears a cancellation only at
        # its next heartbeat
        task = loop.create_task(asyncio.to_thread(fn, *args))
    start = loop.time()
    ends: list[tuple[str, float, Callable[[], float]]] = []
    if "start_to_close_timeout" in limits:
        stc = limits["start_to_close_timeout"]
        ends.append(("start_to_close", stc, lambda: start + stc))
    if left is not None:
        s2c = limits["schedule_to_close_timeout"]
        ends.append(("schedule_to_close", s2c, lambda: start + left))
    if "heartbeat_timeout" in limits:
        hb = limits["heartbeat_timeout"]
        ends.append(("heartbeat", hb, lambda: beats.last + hb))
    try:
        while ends:
            end = min(at() for _, _, at in ends)
            done, _ = await asyncio.wait({task}, timeout=max(0.0, end - loop.time()))
            if done:
                break
            now = loop.time()
            for kind, limit, at in ends:
                if at() <= now:
                    task.cancel()
                    task.add_done_callback(_retrieve)
                    raise errors.ActivityTimeoutError(name, limit, kind)
        value = await task
    except asyncio.CancelledError:
        if not task.done():
            task.cancel()
            task.add_done_callback(_retrieve)
        raise
    if inspect.isawaitable(value):
        value = await value
    return value


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def limits_of(policy: dict[str, Any]) -> dict[str, float]:
    """The timeouts set in a work message's policy, in seconds."""
    return {k: float(policy[k]) for k in TIMEOUTS if policy.get(k) is not None}


def time_left(
    name: str, limits: dict[str, float], scheduled: Any, now: float, first: bool
) -> float | None:
    """Seconds left of the schedule_to_close time (None: none set); raises
    the schedule timeouts that have run out before the attempt starts."""
    if scheduled is None:
        return None
    waited = now - float(scheduled)
    s2s = limits.get("schedule_to_start_timeout")
    if first and s2s is not None and waited > s2s:
        raise errors.ActivityTimeoutError(name, s2s, "schedule_to_start")
    s2c = limits.get("schedule_to_close_timeout")
    if s2c is None:
        return None
    if waited >= s2c:
        raise errors.ActivityTimeoutError(name, s2c, "schedule_to_close")
    return s2c - waited


def failure(exc: BaseException) -> dict[str, Any]:
    """The recorded failure of an attempt (a timeout says which one)."""
    failure: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, errors.ActivityTimeoutError):
        failure["timeoutType"] = exc.timeout_type
    return failure


def stamp(value: Any) -> datetime | None:
    """A datetime from epoch seconds (None stays None)."""
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def retry_delay(
    fn: Any, exc: Exception, attempt: int, policy: dict[str, Any]
) -> float | None:
    """Seconds before the next attempt of a failed one; None: no retry (no
    attempt left, a non-retryable error, or a timeout that ends the activity)."""
    if fn is None or getattr(exc, "non_retryable", False):
        return None
    if getattr(exc, "timeout_type", None) in _FINAL_TIMEOUTS:
        return None
    return RetryPolicy.from_options(policy).delay(attempt)


def past_close(
    limits: dict[str, float], scheduled: Any, clock: Clock, delay: float | None
) -> bool:
    """Whether the next attempt would start past the schedule_to_close time."""
    s2c = limits.get("schedule_to_close_timeout")
    if s2c is None or scheduled is None or delay is None:
        return False
    return clock.now().timestamp() + delay >= float(scheduled) + s2c


def closed(
    name: str, limits: dict[str, float], attempt: int, last: dict[str, Any]
) -> errors.ActivityTimeoutError:
    """The schedule_to_close timeout of an activity whose retry would start too late."""
    return errors.ActivityTimeoutError(
        name,
        limits["schedule_to_close_timeout"],
        "schedule_to_close",
        f"; no retry can start in time after attempt {attempt} failed: "
        f"{last['type']}: {last['message']}",
    )
