"""Jobs asleep or waiting on hooks cost no memory in the process (issue 21).

N jobs sleep an hour and M wait on a hook; the process's per-job structures
(state cache, queued steps, claims, due times, event loop timers) and its
Python objects do not grow with them. Then the timers are brought forward
(the time-skipping statements) and the hooks signalled: every job completes.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

from hotmesh import HotMesh
from hotmesh.clock import SkippingClock
from hotmesh.engine import cache, notes, wakeups
from hotmesh.store.records import ENGINE_STREAM
from hotmesh.store.timeskip import TimeSkip
from hotmesh.testing.footprint import footprint
from tests.integration.conftest import MeshFactory

SLEEPERS, HOOKED, WARM = 2000, 1000, 100
#: waiting jobs started to check the default bound on waiting states kept
EXTRA = cache.WAITING_KEPT + 44
HOUR = 3600.0

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


class Ends:
    """Counts the jobs that published on a topic; ``all(n)`` waits for n."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def __call__(self, _topic: str, output: dict[str, Any]) -> None:
        self.outputs.append(output)
        self._changed.set()

    async def all(self, n: int, timeout: float) -> None:
        async def wait() -> None:
            while len(self.outputs) < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)


async def _many(count: int, start: Callable[[int], Awaitable[str]]) -> list[str]:
    """``start(i)`` for every i, 50 at a time."""
    out: list[str] = []
    for first in range(0, count, 50):
        batch = range(first, min(first + 50, count))
        out += await asyncio.gather(*(start(i) for i in batch))
    return out


def _objects() -> int:
    """Python objects the collector tracks, after a full collection."""
    gc.collect()
    return len(gc.get_objects())


async def _wake_timers(hm: HotMesh, seconds: float) -> None:
    """Bring every timer ``seconds`` closer and tell the consumers, as the
    time-skipping environment does (the engine's clock skips with them)."""
    assert isinstance(hm.clock, SkippingClock)
    moved = await TimeSkip(hm.store).shift(seconds)
    hm.clock.skip(seconds)
    assert ("rest", ENGINE_STREAM) in moved
    await hm.store.notify(notes.encode(notes.Messages("rest", ENGINE_STREAM, 0.0, "t")))


async def test_waiting_jobs_hold_nothing_in_the_process_and_all_complete(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("rest", clock=SkippingClock())
    await hm.deploy(APP)
    await hm.activate("1")
    naps, holds = Ends(), Ends()
    await hm.sub("nap.done", naps)
    await hm.sub("hold.done", holds)

    async def nap(_i: int) -> str:
        return await hm.pub("nap", {"secs": HOUR})

    async def hold(_i: int) -> str:
        return await hm.pub("hold", {})

    # warm up (plans, statements, the pool's connections)
    await _many(WARM, nap)
    warm = await _many(WARM, hold)
    # the strict check first: no state at all per waiting job (by default
    # the most recent few are kept, a constant bound checked below; replacing
    # them churns a few objects each, which this count cannot tell from growth)
    hm.engine.states.waiting_size = 0
    hm.engine.states.drop_waiting()
    before = footprint(hm)
    # two equal rounds of waiting jobs: the second must add nothing
    counts, hooked = [], []
    for _round in range(2):
        await _many(SLEEPERS // 2, nap)
        hooked += await _many(HOOKED // 2, hold)
        counts.append(_objects())
    after = footprint(hm)

    assert after["cached_states"] == before["cached_states"] == 0
    assert after["waiting_states"] == 0, after
    for name in ("queued_steps", "stepping_jobs", "held_claims", "result_waiters"):
        assert after[name] == 0, (name, after)
    # due times and timers: a bounded few, not one per sleeping job
    assert after["due_times"] <= wakeups.SIZE, after
    assert after["loop_timers"] <= before["loop_timers"] + wakeups.SIZE, after
    # no Python objects per waiting job: the second 1,500 jobs left fewer
    # objects behind than one per five jobs (the driver's statement caches
    # grow as more pool connections get used)
    grown = counts[1] - counts[0]
    assert grown < (SLEEPERS + HOOKED) // 10, f"{grown} objects for 1,500 jobs"
    # by default: the most recent waiting states only, however many jobs wait
    hm.engine.states.waiting_size = cache.WAITING_KEPT
    await _many(EXTRA, nap)
    assert footprint(hm)["waiting_states"] == cache.WAITING_KEPT

    # the sleepers wake when their hour has passed, the hooked ones on a signal
    await _wake_timers(hm, HOUR)
    for first in range(0, len(hooked + warm), 50):
        batch = (hooked + warm)[first : first + 50]
        await asyncio.gather(*(hm.signal("go", {"id": j, "v": j}) for j in batch))
    await naps.all(SLEEPERS + WARM + EXTRA, timeout=120)
    await holds.all(HOOKED + WARM, timeout=120)
    assert all(o["data"]["woke"] is True for o in naps.outputs)
    assert sorted(o["data"]["got"] for o in holds.outputs) == sorted(hooked + warm)
    assert all(o["metadata"]["js"] == 0 for o in naps.outputs + holds.outputs)
    assert footprint(hm)["cached_states"] == 0  # finished jobs are forgotten
