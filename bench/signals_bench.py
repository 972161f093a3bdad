"""Signals: the cost of a hook round trip, of refusing a late signal, and of
signals to a key that keeps early signals (issue 20 §5).

Usage: ``python bench/signals_bench.py [--dsn DSN] [--jobs 300] [--flood 5000]``

In a scratch database (dropped afterwards):

- **round trip**: ``--jobs`` approval jobs one after another: ``pub``, then
  ``signal`` (the hook matches on the job id), then the completion; latency
  per job, and the ``signal`` call alone.
- **late**: a second signal to each finished job (refused with
  ``JobInactiveError`` since issue 20; kept as an early signal before).
- **flood**: ``--flood`` signals of 1 KB to one key nobody waits on, 5 at a
  time (``keep=True`` where the API has it): latency of the first and the
  last 500 (the list under one key used to grow without bound).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import statistics
import time
import uuid
from typing import Any

from hotmesh import HotMesh, errors
from hotmesh.store.admin import create_database, drop_database

GRAPH = """
app:
  id: sigb
  version: '1'
  graphs:
    - subscribes: order.placed
      publishes: order.done
      expire: 600
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
        approval:
          type: hook
          job:
            maps:
              by: '{$self.hook.data.by}'
      transitions:
        t1:
          - to: approval
      hooks:
        order.approve:
          - to: approval
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
"""


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
    }


async def main(dsn: str, jobs: int, flood: int) -> dict[str, Any]:
    name = f"sigbench_{uuid.uuid4().hex[:8]}"
    await create_database(dsn, name)
    db = dsn.rsplit("/", 1)[0] + "/" + name
    hm = await HotMesh.init("sigb", engine={"connection": {"dsn": db}})
    try:
        await hm.deploy(GRAPH)
        await hm.activate("1")
        done: dict[str, asyncio.Future[None]] = {}

        def seen(_topic: str, out: dict[str, Any]) -> None:
            fut = done.get(out["metadata"]["jid"])
            if fut is not None and not fut.done() and out["metadata"].get("js") == 0:
                fut.set_result(None)

        await hm.psub("order.done.*", seen)
        trip: list[float] = []
        call: list[float] = []
        loop = asyncio.get_running_loop()
        for i in range(jobs):
            jid = f"o-{i}"
            done[jid] = loop.create_future()
            began = time.perf_counter()
            await hm.pub("order.placed", {"id": jid})
            sent = time.perf_counter()
            await hm.signal("order.approve", {"id": jid, "by": "ok"})
            call.append(time.perf_counter() - sent)
            await asyncio.wait_for(done[jid], 30)
            trip.append(time.perf_counter() - began)
        late: list[float] = []
        refused = 0
        for i in range(jobs):
            began = time.perf_counter()
            try:
                await hm.signal("order.approve", {"id": f"o-{i}", "by": "late"})
            except errors.HotMeshError:
                refused += 1
            late.append(time.perf_counter() - began)
        keep = "keep" in inspect.signature(hm.signal).parameters
        pad = "x" * 1000
        times: list[float] = []

        async def one(i: int) -> None:
            began = time.perf_counter()
            extra = {"keep": True} if keep else {}
            try:
                await hm.signal(
                    "order.approve", {"id": "nobody", "n": i, "p": pad}, **extra
                )
            except errors.HotMeshError:
                pass
            times.append(time.perf_counter() - began)

        for start in range(0, flood, 5):
            await asyncio.gather(*(one(i) for i in range(start, min(flood, start + 5))))
        return {
            "round_trip": _ms(trip),
            "signal_call": _ms(call),
            "late": {**_ms(late), "refused": refused},
            "flood_first_500": _ms(times[:500]),
            "flood_last_500": _ms(times[-500:]),
        }
    finally:
        await hm.stop()
        await drop_database(dsn, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--flood", type=int, default=5000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.dsn, args.jobs, args.flood)), indent=2))
