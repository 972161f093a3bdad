"""Behaviours of upstream's Durable test catalogue (spec §8.3), ported for what ships."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
ATTEMPTS: Counter[str] = Counter()


async def echo(*values: Any) -> list[Any]:
    return list(values)


class Fatal(Exception):
    non_retryable = True


async def fatal() -> None:
    ATTEMPTS["fatal"] += 1
    raise Fatal("card declined")


ACTS = {"echo": echo, "fatal": fatal}


def acts() -> Any:
    return wf.proxy_activities(activities=ACTS, retry_policy={"initial_interval": 0.01})


async def result(handle: Any, timeout: float = 15) -> Any:
    return await asyncio.wait_for(handle.result(), timeout)


async def start(mf: Env, name: str, *args: Any, **kw: Any) -> Any:
    return await mf.client.workflow.start(
        args=list(args), task_queue="cat", workflow_name=name, **kw
    )


# -- nested / lineage ------------------------------------------------------


async def grandchild(n: int) -> dict[str, Any]:
    info = wf.workflow_info()
    return {
        "n": n,
        "parent": info["parent_workflow_id"],
        "origin": info["origin_job_id"],
    }


async def middle(n: int) -> Any:
    return await wf.exec_child(grandchild, args=[n + 1])


async def top(n: int) -> Any:
    return await wf.exec_child(middle, args=[n + 1])


async def test_nested_children_carry_parent_and_origin_ids(mf: Env) -> None:
    for fn in (top, middle, grandchild):
        await mf.worker("cat", fn)
    out = await result(await start(mf, "top", 1, workflow_id="top-1"))
    assert out == {"n": 3, "parent": "top-1-middle-1", "origin": "top-1"}


# -- gathers of children, waits, and a loop of activities plus a sleep ---------


async def kids(n: int) -> list[Any]:
    return list(
        await asyncio.gather(*(wf.exec_child(middle, args=[i]) for i in range(n)))
    )


async def many_waits(n: int) -> list[Any]:
    return list(await asyncio.gather(*(wf.wait_for(f"s{i}") for i in range(n))))


async def loop_activity() -> list[Any]:
    a = acts()
    return list(
        await asyncio.gather(a.echo(1), a.echo(2), a.echo(3), wf.sleep_for(0.1))
    )


async def test_gather_of_children(mf: Env) -> None:
    for fn in (kids, middle, grandchild):
        await mf.worker("cat", fn)
    out = await result(await start(mf, "kids", 5))
    assert [o["n"] for o in out] == [1, 2, 3, 4, 5]


async def test_gather_of_30_signal_waits(mf: Env) -> None:
    await mf.worker("cat", many_waits)
    handle = await start(mf, "many_waits", 30, workflow_id="fan-1")
    await asyncio.gather(*(handle.signal(f"s{i}", i) for i in range(30)))
    assert await result(handle) == list(range(30))


async def test_loop_activity_three_activities_and_a_sleep(mf: Env) -> None:
    await mf.worker("cat", loop_activity)
    assert await result(await start(mf, "loop_activity")) == [[1], [2], [3], 0.1]


# -- conditions with activities / children ------------------------------------


async def condition_then_work(kind: str) -> Any:
    got = await wf.wait_for("go")
    if kind == "proxy":
        return await acts().echo(got)
    return await wf.exec_child(grandchild, args=[got])


async def test_condition_then_proxy_and_condition_then_child(mf: Env) -> None:
    await mf.worker("cat", condition_then_work)
    await mf.worker("cat", grandchild)
    one = await start(mf, "condition_then_work", "proxy", workflow_id="c-1")
    two = await start(mf, "condition_then_work", "child", workflow_id="c-2")
    await one.signal("go", "p")
    await two.signal("go", 9)
    assert await result(one) == ["p"]
    assert (await result(two))["n"] == 9


# -- continue_as_new with a gather -------------------------------------------


async def generations(n: int) -> Any:
    values = await asyncio.gather(acts().echo(n), acts().echo(n * 10))
    if n < 2:
        wf.continue_as_new(n + 1)
    return [values, wf.workflow_info()["generation"]]


async def test_continue_as_new_with_a_gather(mf: Env) -> None:
    await mf.worker("cat", generations)
    assert await result(await start(mf, "generations", 0)) == [[[2], [20]], 2]


# -- interrupts ------------------------------------------------------------


async def parent_stops_child() -> str:
    child_id = await wf.start_child("parked", workflow_id="parked-kid")
    await wf.interrupt(child_id, "parent says stop")
    return child_id


async def parked() -> Any:
    return await wf.wait_for("never")


async def napper() -> str:
    await wf.sleep_for(60)
    return "woke"


async def test_parent_interrupts_its_child(mf: Env) -> None:
    await mf.worker("cat", parent_stops_child)
    await mf.worker("cat", parked)
    child_id = await result(await start(mf, "parent_stops_child"))
    kid = mf.client.workflow.get_handle("cat", "parked", child_id)
    with pytest.raises(errors.WorkflowFailedError, match="parent says stop"):
        await result(kid)
    assert await kid.status() < 0


async def test_interrupted_sleep_ends_with_410(mf: Env) -> None:
    await mf.worker("cat", napper)
    handle = await start(mf, "napper", workflow_id="nap-1")
    await handle.interrupt()
    with pytest.raises(errors.WorkflowFailedError) as info:
        await result(handle)
    assert info.value.code == 410  # type: ignore[attr-defined]


# -- failures ----------------------------------------------------------------


async def fatal_workflow() -> str:
    try:
        await acts().fatal()
    except errors.ActivityFailedError as exc:
        return f"{exc.error_type}: {exc}"
    return "not raised"


async def test_a_non_retryable_activity_error_is_not_retried(mf: Env) -> None:
    ATTEMPTS.clear()
    await mf.worker("cat", fatal_workflow)
    out = await result(await start(mf, "fatal_workflow"))
    assert out.startswith("Fatal: ") and "card declined" in out
    assert ATTEMPTS["fatal"] == 1


async def shaky_workflow() -> str:
    ATTEMPTS["shaky"] += 1
    if ATTEMPTS["shaky"] < 3:
        raise RuntimeError("transient workflow bug")
    return "recovered"


async def test_workflow_error_retried_with_a_policy_then_success(mf: Env) -> None:
    ATTEMPTS.clear()
    await mf.worker("cat", shaky_workflow)
    handle = await start(
        mf,
        "shaky_workflow",
        retry_policy={"maximum_attempts": 3, "initial_interval": 0.01},
    )
    assert await result(handle) == "recovered"
    assert ATTEMPTS["shaky"] == 3


async def test_workflow_error_retries_exhausted(mf: Env) -> None:
    ATTEMPTS.clear()
    ATTEMPTS["shaky"] = -10
    await mf.worker("cat", shaky_workflow)
    handle = await start(
        mf,
        "shaky_workflow",
        retry_policy={"maximum_attempts": 2, "initial_interval": 0.01},
    )
    with pytest.raises(errors.WorkflowFailedError, match="transient workflow bug"):
        await result(handle)
    assert ATTEMPTS["shaky"] == -8


# -- concurrency ---------------------------------------------------------------


async def test_100_concurrent_parent_child_workflows(mf: Env) -> None:
    await mf.worker("cat", middle)
    await mf.worker("cat", grandchild)
    handles = await asyncio.gather(*(start(mf, "middle", i) for i in range(100)))
    outs = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 30)
    assert [o["n"] for o in outs] == [i + 1 for i in range(100)]


async def test_signal_race_many_workflows_signalled_at_once(mf: Env) -> None:
    await mf.worker("cat", parked)
    await mf.worker("cat", many_waits)
    handles = [
        await start(mf, "many_waits", 1, workflow_id=f"race-{i}") for i in range(20)
    ]
    await asyncio.gather(*(h.signal("s0", h.workflow_id) for h in handles))
    outs = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 30)
    assert outs == [[h.workflow_id] for h in handles]


# -- search from the client -----------------------------------------------------


async def tagged(customer: str) -> str:
    await wf.enrich({"customer": customer, "stage": "done"})
    return customer


async def test_client_finds_workflows_by_search_fields(mf: Env) -> None:
    await mf.worker("cat", tagged)
    for i, who in enumerate(["ann", "bob", "ann"]):
        await result(await start(mf, "tagged", who, workflow_id=f"t-{i}"))
    found = await mf.client.workflow.search("cat", "tagged", {"customer": "ann"})
    assert sorted(h.workflow_id for h in found) == ["t-0", "t-2"]
    assert await found[0].query_state(["stage"]) == {"stage": "done"}
    assert await mf.client.workflow.search("cat", "tagged", {"customer": "eve"}) == []


# -- emit ----------------------------------------------------------------------


async def emitter() -> bool:
    await wf.emit({"orders.audit": {"ok": True}})
    return True


async def test_emit_publishes_user_events(mf: Env) -> None:
    await mf.worker("cat", emitter)
    hm = await mf.client.mesh()
    got: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    await hm.sub("orders.audit", lambda _t, msg: got.set_result(msg))
    handle = await start(mf, "emitter")
    assert await result(handle) is True
    assert await asyncio.wait_for(got, 5) == {"ok": True}


# -- a failing child -------------------------------------------------------------


async def bad_child(sku: str) -> None:
    raise LookupError(f"unknown sku {sku}")


async def careful_parent() -> str:
    try:
        await wf.exec_child(bad_child, args=["x-1"])
    except errors.ActivityFailedError as exc:
        return f"{exc.activity} {exc.error_type}: {exc}"
    return "not raised"


async def test_a_failing_child_raises_a_typed_error_in_the_parent(mf: Env) -> None:
    await mf.worker("cat", careful_parent)
    await mf.worker("cat", bad_child)
    out = await result(await start(mf, "careful_parent"))
    assert out.startswith("bad_child LookupError: ") and "unknown sku x-1" in out


# -- gathers of started children and of timed-out waits ------------------------------


async def starter() -> list[Any]:
    ids = await asyncio.gather(
        wf.start_child(grandchild, args=[1], workflow_id="g-a"),
        wf.start_child(grandchild, args=[2], workflow_id="g-b"),
    )
    timed_out = await asyncio.gather(
        wf.wait_for("nope", timeout=0.2), wf.wait_for("nada", timeout=0.3)
    )
    return [*ids, *timed_out]


async def test_gather_of_start_child_and_of_timed_out_waits(mf: Env) -> None:
    await mf.worker("cat", starter)
    await mf.worker("cat", grandchild)
    assert await result(await start(mf, "starter")) == ["g-a", "g-b", False, False]
    kid = mf.client.workflow.get_handle("cat", "grandchild", "g-b")
    assert (await result(kid))["n"] == 2
