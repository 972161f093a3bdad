"""MemFlow fixtures: a client, workers and activity workers on a fresh database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from hotmesh import MemFlow
from hotmesh.memflow import registry
from tests.integration.memflow import activities


class Env:
    """Starts MemFlow parts on one database and stops them after the test."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = {"dsn": dsn}
        self._stops: list[Callable[[], Awaitable[None]]] = []
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = MemFlow.Client({"connection": self.conn})
            self._stops.append(self._client.close)
        return self._client

    async def worker(self, task_queue: str, workflow: Any, **extra: Any) -> Any:
        w = await MemFlow.Worker.create(
            {
                "connection": self.conn,
                "task_queue": task_queue,
                "workflow": workflow,
                **extra,
            }
        )
        self._stops.append(w.stop)
        return w

    async def activities(self, task_queue: str, acts: Any) -> Any:
        w = await MemFlow.register_activity_worker(
            {"connection": self.conn, "task_queue": task_queue}, acts
        )
        self._stops.append(w.stop)
        return w

    async def close(self) -> None:
        for stop in reversed(self._stops):
            try:
                await asyncio.wait_for(stop(), STOP_WITHIN)
            except TimeoutError:
                raise AssertionError(
                    f"{stop!r} did not return within {STOP_WITHIN} s; tasks:\n"
                    + _tasks()
                ) from None


#: seconds a worker or client may take to stop (HotMesh.stop's grace is 30)
STOP_WITHIN = 60.0


def _tasks() -> str:
    """The event loop's other tasks and where each waits (a hang's diagnosis):
    the innermost frames of the chain of coroutines each task awaits (a
    task's own stack shows only its outermost one)."""
    out = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task():
            continue
        where = " -> ".join(
            f"{f.f_code.co_name} ({f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_lineno})"
            for f in _awaiting(task.get_coro())[-5:]
        )
        out.append(f"  {task.get_name()}: {where}")
    return "\n".join(out)


def _awaiting(coro: Any) -> list[Any]:
    """The frames of ``coro`` and of the coroutines it awaits in turn."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


@pytest.fixture
async def mf(pg_dsn: str) -> AsyncIterator[Env]:
    activities.CALLS.clear()
    env = Env(pg_dsn)
    yield env
    await env.close()
    registry.clear()
