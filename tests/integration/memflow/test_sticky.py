"""The sticky workflow cache (issue 21): a cached worker resumes a workflow
where its last activation left it; the same workflows, run with the cache on
and off, record the same histories and give the same results."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from hotmesh.memflow import sticky
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow


async def double(x: int) -> int:
    return x * 2


async def boom(x: int) -> int:
    raise ValueError(f"boom {x}")


def _acts() -> Any:
    return wf.proxy_activities(
        activities=[double, boom], retry_policy={"maximum_attempts": 1}
    )


async def steps(n: int) -> dict[str, Any]:
    """Sequential calls of each kind a cached run resumes from, and a gather
    (after which the next activation replays)."""
    acts = _acts()
    total, seen = 0, []
    for i in range(n):
        total += await acts.double(i + total)
        seen.append(wf.random())
    await wf.sleep_for(0.05)
    if wf.patched("p1"):
        total += 1
    await wf.search().set({"total": total})
    count = await wf.search().incr("count", 2)
    try:
        await acts.boom(total)
    except errors.ActivityFailedError as exc:
        seen.append(str(exc))
    both = await asyncio.gather(acts.double(1), acts.double(2))
    total += sum(both) + await acts.double(total)
    await wf.entity().set({"total": total})
    doc = await wf.entity().get()
    return {"total": total, "seen": seen, "count": count, "id": wf.uuid4(), "doc": doc}


async def child_of(x: int) -> int:
    return int(await _acts().double(x)) + 1


async def family(rounds: int, acc: int = 0) -> Any:
    """Children, a signal wait, and continue_as_new across generations."""
    acc += int(await wf.exec_child(child_of, args=[acc + 1]))
    got = await wf.wait_for("go")
    acc += int(got["n"])
    acc += await _acts().double(acc)
    if rounds > 1:
        wf.continue_as_new(rounds - 1, acc)
    return {"acc": acc, "info": wf.workflow_info()["generation"]}


async def run(
    mf: Env, namespace: str, size: int, **more: Any
) -> tuple[list[Any], list[Any], Any]:
    """Results, histories and the ``steps`` worker of a few workflows (worker
    options: ``max_cached_workflows=size`` and ``more``)."""
    conn = {"connection": mf.conn, "namespace": namespace}
    options = {"max_cached_workflows": size, **more}
    worker = await mf.worker("st-q", steps, namespace=namespace, options=options)
    await mf.worker("st-f", family, namespace=namespace, options=options)
    await mf.worker("st-f", child_of, namespace=namespace, options=options)
    client = MemFlow.Client(conn)
    try:
        handles = [
            await client.workflow.start(
                args=[3], task_queue="st-q", workflow_name="steps", workflow_id=f"s{i}"
            )
            for i in range(3)
        ]
        fam = await client.workflow.start(
            args=[2], task_queue="st-f", workflow_name="family", workflow_id="fam"
        )
        handles.append(fam)
        results: list[Any] = [await h.result(timeout=60) for h in handles[:3]]
        results.append(await _signalled(fam))
        histories = [await h.fetch_history() for h in handles]
    finally:
        await client.close()
    return results, histories, worker


async def _signalled(handle: Any) -> Any:
    """Signal ``go`` until the workflow is done (a signal before its wait is
    lost, so it is sent again; the history records only the one it took)."""
    while True:
        await handle.signal("go", {"n": 5})
        try:
            return await handle.result(timeout=0.5)
        except errors.TimeoutError:
            continue


def _comparable(history: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in history.items() if k not in ("namespace",)}


async def test_the_cache_on_and_off_record_the_same_histories_and_results(
    mf: Env,
) -> None:
    on = await run(mf, "stickyon", 100)
    off = await run(mf, "stickyoff", 0)
    assert on[2].cache.hits > 0  # the cached path ran
    assert (off[2].cache.hits, off[2].cache.misses) == (0, 0)
    assert on[0] == off[0]
    assert all(isinstance(r["count"], float) for r in on[0][:3])  # as replayed
    assert [_comparable(h) for h in on[1]] == [_comparable(h) for h in off[1]]


async def test_an_lru_bound_evicts_and_evicted_workflows_replay(mf: Env) -> None:
    worker = await mf.worker("st-lru", steps, options={"max_cached_workflows": 1})
    handles = [
        await mf.client.workflow.start(
            args=[4], task_queue="st-lru", workflow_name="steps", workflow_id=f"l{i}"
        )
        for i in range(4)
    ]
    results = [await h.result(timeout=60) for h in handles]
    assert [r["total"] for r in results] == [results[0]["total"]] * 4
    assert len(worker.cache) <= 1
    await worker.stop()
    assert len(worker.cache) == 0


def test_the_cache_size_is_checked() -> None:
    assert sticky.size_of(10, "w") == 10
    assert sticky.size_of("0", "w") == 0
    for bad in (-1, "x", 1.5, True):
        with pytest.raises(errors.ConfigError, match="max_cached_workflows"):
            sticky.size_of(bad, "w")
