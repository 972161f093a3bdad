"""Run one MemFlow activity alone: no database, no workflow, no worker.

``ActivityEnvironment().run(charge, 20)`` calls the activity as a worker
would (a plain function in a thread, a coroutine on the loop) with an
activity context (``MemFlow.activity.get_context()``), captures what it passes
to ``activity.heartbeat(...)`` in ``env.heartbeats`` (and calls
``env.on_heartbeat``), and ``env.cancel()`` cancels it: a coroutine activity
gets ``asyncio.CancelledError`` at its await point, and every later heartbeat
of either kind raises it (a thread cannot be stopped from outside).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import threading
from collections.abc import Callable
from typing import Any

from hotmesh.memflow.context import ACTIVITY, ActivityContext

#: the activity context's attribute that ``activity.heartbeat`` reports to
BEATS = "beats"


class _Beats:
    """Where ``activity.heartbeat(*details)`` goes inside the environment
    (the ``beats`` of the activity context, as a worker's attempt has)."""

    def __init__(self, env: ActivityEnvironment) -> None:
        self.env = env

    def beat(self, details: list[Any]) -> None:
        env = self.env
        if env.cancelled is not None:
            raise asyncio.CancelledError(env.cancelled)
        with env._lock:
            env.heartbeats.append(list(details))
        if env.on_heartbeat is not None:
            env.on_heartbeat(*details)


class ActivityEnvironment:
    """Runs activity functions alone, capturing heartbeats; can cancel them.

    The keyword arguments fill the activity context: ``workflow_id``,
    ``workflow_name``, ``task_queue``, ``attempt``, and ``heartbeat_details``
    (what an earlier attempt's last heartbeat passed, where the activity
    context has them).
    """

    def __init__(
        self,
        *,
        workflow_id: str = "activity-environment",
        workflow_name: str = "test",
        task_queue: str = "test",
        attempt: int = 1,
        heartbeat_details: list[Any] | tuple[Any, ...] = (),
        on_heartbeat: Callable[..., None] | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.workflow_name = workflow_name
        self.task_queue = task_queue
        self.attempt = attempt
        self.heartbeat_details = list(heartbeat_details)
        #: called with each heartbeat's details (from the activity's thread,
        #: for a plain function)
        self.on_heartbeat = on_heartbeat
        #: every heartbeat's details, in order
        self.heartbeats: list[list[Any]] = []
        #: the reason given to ``cancel()``, once called
        self.cancelled: str | None = None
        self._lock = threading.Lock()
        self._task: asyncio.Task[Any] | None = None
        self._coroutine = False

    def context(self, fn: Callable[..., Any], args: list[Any]) -> ActivityContext:
        """The activity context ``fn`` runs with."""
        known = {f.name for f in dataclasses.fields(ActivityContext)}
        extra: dict[str, Any] = {}
        if "heartbeat_details" in known:
            extra["heartbeat_details"] = list(self.heartbeat_details)
        ctx = ActivityContext(
            getattr(fn, "__name__", str(fn)),
            list(args),
            self.workflow_id,
            self.workflow_name,
            self.task_queue,
            self.attempt,
            **extra,
        )
        # heartbeats reach the environment as a worker's reach its attempt
        setattr(ctx, BEATS, _Beats(self))
        return ctx

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` as an activity; its value, or what it raised."""
        ctx = self.context(fn, list(args))
        copy = contextvars.copy_context()
        copy.run(ACTIVITY.set, ctx)
        self._task = asyncio.get_running_loop().create_task(
            _call(fn, list(args)), context=copy
        )
        self._coroutine = inspect.iscoroutinefunction(fn)
        if self.cancelled is not None and self._coroutine:
            self._task.cancel(self.cancelled)
        try:
            return await self._task
        finally:
            self._task = None

    def cancel(self, reason: str = "cancelled") -> None:
        """Cancel the running activity: a coroutine at its await point; either
        kind at its next heartbeat (which raises ``asyncio.CancelledError``)."""
        self.cancelled = reason
        task = self._task
        if task is not None and not task.done() and self._coroutine:
            task.cancel(reason)


async def _call(fn: Callable[..., Any], args: list[Any]) -> Any:
    """As a worker calls an activity: a plain function in a thread."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(result):
        return await result
    return result
