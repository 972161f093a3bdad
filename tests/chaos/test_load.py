"""Load: 100 concurrent pubsub callers, and memory that stays flat under steady work.

CI runs a 10-second soak; ``HOTMESH_LONG=1`` runs ten minutes.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import time
import tracemalloc
from typing import Any

import pytest

from tests.integration.conftest import MeshFactory
from tests.long import LONG

SOAK_SECONDS = 600.0 if LONG else 10.0

APP = """
app:
  id: load
  version: '1'
  graphs:
    - subscribes: load.go
      activities:
        t: {type: trigger}
        a: {type: worker, topic: load.a, input: {maps: {n: '{t.output.data.n}'}},
            job: {maps: {a: '{$self.output.data.n}'}}}
        b: {type: worker, topic: load.b, input: {maps: {n: '{a.output.data.n}'}},
            job: {maps: {b: '{$self.output.data.n}'}}}
      transitions:
        t: [{to: a}]
        a: [{to: b}]
"""


async def work(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"n": message["data"]["n"]}}


WORKERS = [{"topic": "load.a", "callback": work}, {"topic": "load.b", "callback": work}]


async def test_a_hundred_concurrent_pubsub_callers(mesh: MeshFactory) -> None:
    hm = await mesh("load", workers=WORKERS)
    await hm.deploy(APP)
    await hm.activate("1")
    outs = await asyncio.gather(
        *(hm.pubsub("load.go", {"n": i}, timeout=30) for i in range(100))
    )
    assert [o["data"] for o in outs] == [{"a": i, "b": i} for i in range(100)]


@pytest.mark.timeout(SOAK_SECONDS + 120)
async def test_memory_stays_flat_under_steady_work(mesh: MeshFactory) -> None:
    hm = await mesh("load", workers=WORKERS)
    await hm.deploy(APP)
    await hm.activate("1")
    sem = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with sem:
            await hm.pubsub("load.go", {"n": i}, timeout=30)

    async def burst(start: int) -> None:
        await asyncio.gather(*(one(start + i) for i in range(500)))

    await burst(0)  # warm up caches, pools and plans first
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    done, deadline = 500, time.monotonic() + SOAK_SECONDS
    while time.monotonic() < deadline:
        await burst(done)
        done += 500
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    grown = (after - before) / 1024
    print(
        f"\nsoak: {done} jobs in {SOAK_SECONDS:g}s, Python heap +{grown:.0f} KiB, peak RSS {rss_mb:.0f} MB"
    )
    # Flat: what is left after thousands of jobs is bounded, not per job.
    assert after - before < 2 * 1024 * 1024, (
        f"heap grew {grown:.0f} KiB over {done} jobs"
    )
    assert not hm._waiters and not hm.engine._pending and not hm.engine._running
