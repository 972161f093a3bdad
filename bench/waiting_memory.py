"""Waiting jobs cost no memory (issue 21): what 100,000 jobs asleep or waiting
on hooks leave in the process, and what a waiting job's resume costs.

Usage: ``python bench/waiting_memory.py [--dsn DSN] [--jobs 100000] [--resumes 300]``

In a scratch database (dropped afterwards), one process:

- **memory**: ``--jobs`` jobs, half asleep for an hour, half waiting on a hook,
  started 50 at a time after a warm-up. Before and after: RSS (``VmRSS``),
  Python objects the collector tracks (frozen ones included), memory
  allocated since the warm-up and still alive (``tracemalloc``), and the
  process's per-job structures (state cache, queued steps, claims, due times,
  the event loop's timers).
- **resume**: ``--resumes`` jobs of each kind (YAML sleep, YAML hook, MemFlow
  ``sleep_for``, MemFlow ``wait_for``) asleep or waiting, then woken at once
  (timers brought forward by the time-skipping statements, or signalled):
  process CPU (``time.process_time``) and statements sent to PostgreSQL per
  resumed job, from the wake-up to the last completion. Run twice: with the
  state cache forgetting waiting jobs (this change) and with it keeping them
  (as before; ``cache.waiting`` patched to say no), so the difference is the
  cost of a resume from the database instead of the cache.

The code before this change has no ``hotmesh.engine.wakeups``: run this file
with ``PYTHONPATH`` at an older export for its memory figures (the resume
figures need the patch point, ``hotmesh.engine.cache.waiting``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from hotmesh import HotMesh, MemFlow, telemetry
from hotmesh.engine import cache, notes
from hotmesh.store.admin import create_database, drop_database
from hotmesh.store.codec import PooledConnection
from hotmesh.store.records import ENGINE_STREAM
from hotmesh.store.timeskip import TimeSkip

APP = """
app:
  id: rest
  version: '1'
  graphs:
    - subscribes: nap
      publishes: nap.done
      activities:
        t: {type: trigger}
        z:
          type: hook
          sleep: '{t.output.data.secs}'
          job: {maps: {woke: true}}
      transitions:
        t: [{to: z}]
    - subscribes: hold
      publishes: hold.done
      activities:
        u: {type: trigger}
        h:
          type: hook
          job: {maps: {got: '{$self.hook.data.v}'}}
      transitions:
        u: [{to: h}]
      hooks:
        go: [{to: h, conditions: {match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]}}]
"""
HOUR = 3600.0
QUEUE = "rest-q"

# -- statements sent to PostgreSQL, counted in the driver's connection class
STATEMENTS = [0]


def _counting(name: str) -> None:
    inner = getattr(PooledConnection, name)

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS[0] += 1
        return await inner(self, *args, **kwargs)

    setattr(PooledConnection, name, counted)


for _name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
    _counting(_name)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def footprint(hm: HotMesh) -> dict[str, int]:
    """The per-job structures (as hotmesh.testing.footprint; kept here so an
    older export runs this file too)."""
    engine: Any = hm.engine
    consumers: list[Any] = list(hm._consumers.values())
    loop = asyncio.get_running_loop()
    due = sum(
        len(getattr(c, "_wakeups", None) or getattr(c, "_timers", []))
        for c in consumers
    )
    return {
        "cached_states": len(engine.states),
        "queued_steps": sum(len(q) for q in engine._pending.values()),
        "held_claims": sum(len(c.held) for c in consumers),
        "due_times": due,
        "loop_timers": len(getattr(loop, "_scheduled", ())),
        "subscriptions": len(hm.subscriptions._subs),
        "open_job_spans": len(telemetry._OPEN),
    }


def _figures(hm: HotMesh) -> dict[str, Any]:
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    return {
        "rss_mb": round(_rss_mb(), 1),
        "gc_objects": len(gc.get_objects()) + gc.get_freeze_count(),
        "traced_kb": round(traced / 1024, 1),
        **footprint(hm),
    }


async def _many(count: int, start: Callable[[int], Awaitable[Any]]) -> None:
    for first in range(0, count, 50):
        await asyncio.gather(*(start(i) for i in range(first, min(first + 50, count))))


class Ends:
    """Counts completions on a topic; ``reach(n)`` waits for the n-th."""

    def __init__(self) -> None:
        self.n = 0
        self._changed = asyncio.Event()

    def __call__(self, _topic: str, _output: dict[str, Any]) -> None:
        self.n += 1
        self._changed.set()

    async def reach(self, n: int, timeout: float = 600) -> None:
        async def wait() -> None:
            while self.n < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)


async def _wake_timers(hm: HotMesh, app: str) -> None:
    """Bring every timer an hour closer and tell the consumers."""
    await TimeSkip(hm.store).shift(HOUR)
    note = notes.Messages(app, ENGINE_STREAM, 0.0, "bench")
    await hm.store.notify(notes.encode(note))


async def _measured(wake: Callable[[], Awaitable[None]], n: int) -> dict[str, float]:
    """CPU ms and statements per job from ``wake()`` to its awaited end."""
    cpu, sent = time.process_time(), STATEMENTS[0]
    await wake()
    return {
        "cpu_ms": round((time.process_time() - cpu) * 1000 / n, 3),
        "statements": round((STATEMENTS[0] - sent) / n, 2),
    }


async def memory(db: str, jobs: int) -> dict[str, Any]:
    hm = await HotMesh.init("rest", engine={"connection": {"dsn": db}})
    try:
        await hm.deploy(APP)
        await hm.activate("1")

        async def nap(_i: int) -> None:
            await hm.pub("nap", {"secs": HOUR})

        async def hold(_i: int) -> None:
            await hm.pub("hold", {})

        await _many(200, nap)
        await _many(200, hold)
        tracemalloc.start()
        before = _figures(hm)
        began = time.monotonic()
        await _many(jobs // 2, nap)
        await _many(jobs - jobs // 2, hold)
        spent = time.monotonic() - began
        after = _figures(hm)
        tracemalloc.stop()
        return {
            "jobs": jobs,
            "start_rate": round(jobs / spent),
            "before": before,
            "after": after,
            "bytes_per_job": round((after["traced_kb"] - before["traced_kb"]) * 1024 / jobs, 2),
            "objects_per_job": round((after["gc_objects"] - before["gc_objects"]) / jobs, 4),
        }  # fmt: skip
    finally:
        await hm.stop()


async def yaml_resumes(db: str, n: int) -> dict[str, Any]:
    hm = await HotMesh.init("rest", engine={"connection": {"dsn": db}})
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        naps, holds = Ends(), Ends()
        await hm.sub("nap.done", naps)
        await hm.sub("hold.done", holds)
        await _many(n, lambda _i: hm.pub("nap", {"secs": HOUR}))
        ids: list[str] = []

        async def hold(_i: int) -> None:
            ids.append(await hm.pub("hold", {}))

        await _many(n, hold)
        cached = len(hm.engine.states)

        async def wake_naps() -> None:
            await _wake_timers(hm, "rest")
            await naps.reach(n)

        async def signal_holds() -> None:
            for first in range(0, n, 50):
                batch = ids[first : first + 50]
                await asyncio.gather(
                    *(hm.signal("go", {"id": j, "v": 1}) for j in batch)
                )
            await holds.reach(n)

        return {
            "cached_while_waiting": cached,
            "sleep": await _measured(wake_naps, n),
            "hook": await _measured(signal_holds, n),
        }
    finally:
        await hm.stop()


async def napper() -> int:
    await MemFlow.workflow.sleep_for("1h")
    return 1


async def waiter() -> Any:
    return await MemFlow.workflow.wait_for("go")


async def memflow_resumes(db: str, n: int) -> dict[str, Any]:
    conn = {"connection": {"dsn": db}, "task_queue": QUEUE}
    client = MemFlow.Client({"connection": {"dsn": db}})
    async with (
        MemFlow.Worker.create({**conn, "workflow": napper}) as worker,
        MemFlow.Worker.create({**conn, "workflow": waiter}),
    ):
        hm: HotMesh = worker.mesh
        ends = Ends()
        await hm.sub(f"{hm.app_id}.executed", ends)
        run = uuid.uuid4().hex[:6]

        async def start(fn: Any, i: int) -> None:
            await client.workflow.start(
                task_queue=QUEUE,
                workflow_name=fn,
                workflow_id=f"{run}-{fn.__name__}-{i}",
            )

        await _many(n, lambda i: start(napper, i))
        await _many(n, lambda i: start(waiter, i))
        # every workflow reached its sleep or wait: 2n suspended, none moving
        await _settle(hm)
        cached = len(hm.engine.states)

        async def wake_naps() -> None:
            await _wake_timers(hm, hm.app_id)
            await ends.reach(n)

        async def signal_waits() -> None:
            for first in range(0, n, 50):
                await asyncio.gather(
                    *(
                        client.workflow.signal("go", i, f"{run}-waiter-{i}")
                        for i in range(first, min(first + 50, n))
                    )
                )
            await ends.reach(2 * n)

        out = {
            "cached_while_waiting": cached,
            "sleep_for": await _measured(wake_naps, n),
            "wait_for": await _measured(signal_waits, n),
        }
    await client.close()
    return out


async def _settle(hm: HotMesh) -> None:
    """Until no message is due or claimed (polled: a bench, not a test)."""
    while True:
        busy = await hm.store._pool.fetchval(
            "SELECT count(*) FROM hotmesh.messages WHERE visible_at <= now()"
        )
        if not busy:
            return
        await asyncio.sleep(0.1)


async def main(dsn: str, jobs: int, resumes: int) -> dict[str, Any]:
    out: dict[str, Any] = {"load": os.getloadavg()[0]}
    modes = (("forgets_waiting", False), ("keeps_waiting", True))
    for label, keep in modes if resumes else ():
        original = cache.waiting
        if keep:
            cache.waiting = lambda _state: False  # the rule before this change
        try:
            for kind, run in (("yaml", yaml_resumes), ("memflow", memflow_resumes)):
                name = f"waitbench_{uuid.uuid4().hex[:8]}"
                await create_database(dsn, name)
                db = dsn.rsplit("/", 1)[0] + "/" + name
                try:
                    out[f"resume_{kind}_{label}"] = await run(db, resumes)
                finally:
                    await drop_database(dsn, name)
        finally:
            cache.waiting = original
    if jobs:
        name = f"waitbench_{uuid.uuid4().hex[:8]}"
        await create_database(dsn, name)
        try:
            out["memory"] = await memory(dsn.rsplit("/", 1)[0] + "/" + name, jobs)
        finally:
            await drop_database(dsn, name)
    out["load_after"] = os.getloadavg()[0]
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--resumes", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.dsn, args.jobs, args.resumes)), indent=2))
