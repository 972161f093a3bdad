"""MemFlow workflows in sleep_for and wait_for cost no memory in the process
(issue 21): nothing per workflow in any HotMesh of the process; then the
signals are sent and time skips past the sleeps, and every workflow ends.

Runs in the time-skipping environment: ``env.sleep`` waits until nothing can
run (every workflow has suspended) before it moves time.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotmesh import HotMesh, MemFlow
from hotmesh.engine import wakeups
from hotmesh.memflow import registry
from hotmesh.testing import WorkflowEnvironment
from hotmesh.testing.footprint import footprint

QUEUE = "rest-q"
EACH = 150  # workflows asleep, and as many waiting for a signal, per round


async def napper(n: int) -> int:
    await MemFlow.workflow.sleep_for("1h")
    return n


async def waiter(n: int) -> Any:
    return [n, await MemFlow.workflow.wait_for("go")]


@pytest.fixture
async def env(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WorkflowEnvironment]:
    monkeypatch.setenv("HOTMESH_TEST_DSN", pg_server)
    async with await WorkflowEnvironment.start_time_skipping() as started:
        yield started
    registry.clear()


def _objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def _held(meshes: list[HotMesh]) -> dict[str, int]:
    """The footprints of the process's meshes, added up."""
    out: dict[str, int] = {}
    for hm in meshes:
        for name, n in footprint(hm).items():
            out[name] = out.get(name, 0) + n
    return out


async def _start(env: WorkflowEnvironment, workflow: Any, first: int) -> None:
    """Start ``EACH`` workflows (their handles let go: only ids are kept)."""
    for low in range(first, first + EACH, 50):
        await asyncio.gather(
            *(
                env.client.workflow.start(
                    args=[n], task_queue=QUEUE, workflow_name=workflow,
                    workflow_id=f"{workflow.__name__}-{n}",
                )
                for n in range(low, low + 50)
            )
        )  # fmt: skip


async def test_sleeping_and_waiting_workflows_hold_nothing_then_complete(
    env: WorkflowEnvironment,
) -> None:
    conn = {"connection": env.connection, "task_queue": QUEUE}
    async with (
        MemFlow.Worker.create({**conn, "workflow": napper}) as nap_worker,
        MemFlow.Worker.create({**conn, "workflow": waiter}),
    ):
        meshes = list(
            {id(m): m for m in (nap_worker.mesh, await env.client.mesh())}.values()
        )
        # the strict check: no state at all per waiting workflow. By default
        # the most recent few waiting states are kept (a constant bound,
        # checked in tests/integration/test_waiting_memory.py); replacing them
        # churns a few objects each, which this count cannot tell from growth
        for hm in meshes:
            hm.engine.states.waiting_size = 0
        await _rounds(env, meshes)


async def _rounds(env: WorkflowEnvironment, meshes: list[HotMesh]) -> None:
    # warm up: plans, statements, the pools' connections
    await _start(env, napper, 0)
    await _start(env, waiter, 0)
    counts: list[int] = []
    for first in (EACH, 2 * EACH):
        await _start(env, napper, first)
        await _start(env, waiter, first)
        await env.sleep(1)  # once every workflow has suspended
        counts.append(_objects())
    held = _held(meshes)
    assert held["cached_states"] == held["waiting_states"] == 0, held
    # a handle let go (only ids are kept here) no longer watches its workflow:
    # the topics left are the process's own (cancellations), not 900 of them
    assert held["subscribed_topics"] < 5, held
    for name in ("queued_steps", "stepping_jobs", "held_claims", "result_waiters"):
        assert held[name] == 0, (name, held)
    assert held["due_times"] <= wakeups.SIZE * len(meshes), held
    # fewer Python objects than workflows: nothing per workflow (what grows is
    # the driver's statement caches as more pool connections get used)
    grown = counts[1] - counts[0]
    assert grown < 2 * EACH, f"{grown} objects for {2 * EACH} more workflows"

    waits = [f"waiter-{n}" for n in range(3 * EACH)]
    for low in range(0, len(waits), 50):
        await asyncio.gather(
            *(env.client.workflow.signal("go", w, w) for w in waits[low : low + 50])
        )
    await env.sleep("1h")
    naps = [
        env.client.workflow.get_handle(QUEUE, napper, f"napper-{n}")
        for n in range(3 * EACH)
    ]
    slept = await asyncio.wait_for(asyncio.gather(*(h.result() for h in naps)), 120)
    assert slept == list(range(3 * EACH))
    handles = [env.client.workflow.get_handle(QUEUE, waiter, w) for w in waits]
    got = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
    assert got == [[n, f"waiter-{n}"] for n in range(3 * EACH)]
    assert _held(meshes)["cached_states"] == 0
