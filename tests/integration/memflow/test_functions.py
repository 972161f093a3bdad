"""One test per workflow-side function (``MemFlow.workflow.*``), on real PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import asyncpg
import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow import activities
from tests.integration.memflow.conftest import Env
from tests.waiting import until_notified

wf = MemFlow.workflow
RUNS: Counter[str] = Counter()


async def echo(*values: Any) -> list[Any]:
    return list(values)


ACTS = {"echo": echo, "greet": activities.greet}


def acts() -> Any:
    return wf.proxy_activities(activities=ACTS)


async def result(handle: Any, timeout: float = 10) -> Any:
    return await asyncio.wait_for(handle.result(), timeout)


async def start(mf: Env, name: str, *args: Any, **kw: Any) -> Any:
    return await mf.client.workflow.start(
        args=list(args), task_queue="fx", workflow_name=name, **kw
    )


# -- sleep_for -------------------------------------------------------------


async def sleeper(seconds: float) -> str:
    RUNS["sleeper"] += 1
    slept = await wf.sleep_for(seconds)
    return str(await acts().greet(f"after {slept}s"))


async def test_sleep_for_then_a_step(mf: Env) -> None:
    await mf.worker("fx", sleeper)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await result(await start(mf, "sleeper", 0.5)) == "hello after 0.5s"
    assert loop.time() - began >= 0.5
    assert activities.CALLS["greet"] == 1
    assert RUNS["sleeper"] == 3  # first run, after the sleep, after the activity


# -- asyncio.gather --------------------------------------------------------


async def trio() -> list[Any]:
    a = acts()
    return list(await asyncio.gather(a.greet("a"), a.greet("b"), a.echo(1, 2)))


async def fan_out(n: int) -> int:
    a = acts()
    values = await asyncio.gather(*(a.echo(i) for i in range(n)))
    return sum(v[0] for v in values)


async def mixed() -> list[Any]:
    return list(
        await asyncio.gather(
            acts().echo("x"),
            wf.sleep_for(0.2),
            wf.exec_child("trio"),
            wf.wait_for("ready"),
        )
    )


async def test_gather_of_three_activities(mf: Env) -> None:
    await mf.worker("fx", trio)
    assert await result(await start(mf, "trio")) == ["hello a", "hello b", [1, 2]]
    assert activities.CALLS["greet"] == 2


async def test_gather_of_100_activities_has_no_cap(mf: Env) -> None:
    await mf.worker("fx", fan_out)
    assert await result(await start(mf, "fan_out", 100), 30) == sum(range(100))


async def test_gather_of_activity_sleep_child_and_signal(mf: Env) -> None:
    await mf.worker("fx", mixed)
    await mf.worker("fx", trio)
    handle = await start(mf, "mixed", workflow_id="mixed-1")
    await handle.signal("ready", {"ok": True})  # early: kept until the wait registers
    assert await result(handle) == [
        ["x"],
        0.2,
        ["hello a", "hello b", [1, 2]],
        {"ok": True},
    ]


# -- children --------------------------------------------------------------


async def child(n: int) -> int:
    return int((await acts().echo(n * 10))[0])


async def parent_exec(n: int) -> int:
    return int(await wf.exec_child(child, args=[n])) + 1


async def parent_start(n: int) -> list[Any]:
    kid = await wf.start_child("child", args=[n], workflow_id=f"kid-{n}")
    value = await kid.result()
    after = await acts().echo("after")  # replay past the join still lines up
    return [kid.workflow_id, value, after]


async def test_exec_child_returns_the_child_result(mf: Env) -> None:
    await mf.worker("fx", parent_exec)
    await mf.worker("fx", child)
    handle = await start(mf, "parent_exec", 4, workflow_id="p-1")
    assert await result(handle) == 41
    kid = mf.client.workflow.get_handle("fx", "child", "p-1-child-1")
    assert await result(kid) == 40


async def test_start_child_then_await_child_result(mf: Env) -> None:
    await mf.worker("fx", parent_start)
    await mf.worker("fx", child)
    assert await result(await start(mf, "parent_start", 7)) == ["kid-7", 70, ["after"]]
    kid = mf.client.workflow.get_handle("fx", "child", "kid-7")
    assert await result(kid) == 70


async def quick(n: int) -> int:
    return n * 2


async def late_joiner() -> list[Any]:
    kids = [await wf.start_child(quick, args=[n]) for n in (1, 2)]
    # The children end while this workflow sleeps: their signals wait for it.
    await wf.sleep_for(0.5)
    return list(await asyncio.gather(*(k.result() for k in kids)))


async def test_child_result_asked_after_the_child_ended(mf: Env) -> None:
    await mf.worker("fx", late_joiner)
    await mf.worker("fx", quick)
    assert await result(await start(mf, "late_joiner")) == [2, 4]


async def gathered_children() -> list[Any]:
    # started together (one collator job), then awaited together
    kids = await asyncio.gather(*(wf.start_child(quick, args=[n]) for n in (3, 4, 5)))
    return list(await asyncio.gather(*(k.result() for k in kids)))


async def test_children_started_and_awaited_in_gathers(mf: Env) -> None:
    await mf.worker("fx", gathered_children)
    await mf.worker("fx", quick)
    assert await result(await start(mf, "gathered_children")) == [6, 8, 10]


async def failing(reason: str) -> None:
    raise ValueError(reason)


async def stuck() -> Any:
    return await wf.wait_for("never")


async def joiner_of_failures() -> list[str]:
    out = []
    bad = await wf.start_child(failing, args=["no stock"])
    try:
        await bad.result()
    except errors.ActivityFailedError as exc:
        out.append(f"{exc.error_type}: {exc}")
    parked = await wf.start_child(stuck, workflow_id="stuck-kid")
    try:
        await parked.result(timeout=0.3)
    except errors.TimeoutError:
        out.append("timed out")
    await wf.interrupt(parked, "enough")
    try:
        await parked.result()
    except errors.ActivityFailedError as exc:
        out.append(f"{exc.error_type}: {exc}")
    return out


async def test_child_handle_raises_failures_timeouts_and_interrupts(mf: Env) -> None:
    await mf.worker("fx", joiner_of_failures)
    await mf.worker("fx", failing)
    await mf.worker("fx", stuck)
    out = await result(await start(mf, "joiner_of_failures"))
    assert len(out) == 3, out
    assert out[0].startswith("ValueError: ") and "no stock" in out[0]
    assert out[1] == "timed out"
    assert out[2].startswith("Interrupted: ") and "enough" in out[2]


async def other_parent(kid: str) -> Any:
    handle = MemFlow.ChildHandle(kid, "quick", "someone-else")
    return await handle.result()


async def test_only_the_parent_can_wait_on_a_child_handle(mf: Env) -> None:
    await mf.worker("fx", other_parent)
    handle = await start(mf, "other_parent", "k-1")
    with pytest.raises(errors.WorkflowFailedError, match="only that workflow"):
        await result(handle)


# -- signals ---------------------------------------------------------------


async def waiter(signal_id: str) -> Any:
    return await wf.wait_for(signal_id)


async def waiter_with_timeout() -> Any:
    return await wf.wait_for("never", timeout=0.3)


async def signaller(target: str) -> bool:
    await wf.signal("go", {"from": "a workflow"}, workflow_id=target)
    return True


async def test_wait_for_and_signal_from_client_handle_and_workflow(mf: Env) -> None:
    await mf.worker("fx", waiter)
    await mf.worker("fx", signaller)
    first = await start(mf, "waiter", "go", workflow_id="w-1")
    second = await start(mf, "waiter", "go", workflow_id="w-2")
    third = await start(mf, "waiter", "go", workflow_id="w-3")
    await mf.client.workflow.signal("go", {"n": 1}, workflow_id="w-1")
    assert await result(first) == {"n": 1}
    # signal ids are scoped per workflow: w-2 and w-3 still wait
    assert await second.status() > 0 and await third.status() > 0
    await second.signal("go", {"n": 2})
    assert await result(second) == {"n": 2}
    assert await result(await start(mf, "signaller", "w-3")) is True
    assert await result(third) == {"from": "a workflow"}


async def test_wait_for_times_out(mf: Env) -> None:
    await mf.worker("fx", waiter_with_timeout)
    assert await result(await start(mf, "waiter_with_timeout")) is False


# -- continue_as_new -------------------------------------------------------


async def counter_wf(n: int, seen: list[int]) -> list[int]:
    step = (await acts().echo(n))[0]
    if n < 3:
        wf.continue_as_new(n + 1, [*seen, step])
    return [*seen, step]


async def test_continue_as_new_restarts_with_new_arguments(mf: Env) -> None:
    await mf.worker("fx", counter_wf)
    handle = await start(mf, "counter_wf", 0, [], workflow_id="cn-1")
    assert await result(handle) == [0, 1, 2, 3]
    state = await handle.state()
    assert state["args"] == [3, [0, 1, 2]]


# -- deterministic helpers -------------------------------------------------


async def deterministic() -> dict[str, Any]:
    r, u, t = wf.random(), wf.uuid4(), wf.now().timestamp()
    recorded = await acts().echo(r, u, t)  # what the first activation saw
    info = wf.workflow_info()
    return {"same": recorded == [r, u, t], "info": info, "ctx": wf.get_context()}


async def test_random_uuid_now_and_workflow_info_are_replay_stable(mf: Env) -> None:
    await mf.worker("fx", deterministic)
    out = await result(await start(mf, "deterministic", workflow_id="det-1"))
    assert out["same"] is True
    info = out["info"]
    assert info["workflow_id"] == "det-1"
    assert info["workflow_name"] == "deterministic"
    assert info["task_queue"] == "fx" and info["namespace"] == "memflow"
    assert info["counter"] == 4 and info["replay"] is False


# -- search / enrich ---------------------------------------------------------


async def searchable() -> Any:
    search = wf.search()
    await search.set({"status": "started", "customer": "ann"})
    visits = await search.incr("visits")
    await acts().echo("step")
    visits = await search.incr("visits", 2)
    await wf.enrich({"status": "done"})
    return [visits, await search.get("customer"), await search.mget("status")]


async def test_search_fields_are_replay_safe_and_readable_from_the_client(
    mf: Env,
) -> None:
    await mf.worker("fx", searchable)
    handle = await start(mf, "searchable", workflow_id="s-1", search={"tier": 1})
    assert await result(handle) == [3, "ann", ["done"]]
    fields = await handle.search_fields()
    assert fields == {"tier": 1, "status": "done", "customer": "ann", "visits": 3}
    assert await handle.query_state(["status", "done"]) == {
        "status": "done",
        "done": True,
    }


# -- interrupt -------------------------------------------------------------


async def stopper(target: str) -> bool:
    await wf.interrupt(target, "no longer needed")
    return True


async def test_interrupt_from_handle_and_from_a_workflow(mf: Env) -> None:
    await mf.worker("fx", waiter)
    await mf.worker("fx", stopper)
    one = await start(mf, "waiter", "x", workflow_id="i-1")
    two = await start(mf, "waiter", "x", workflow_id="i-2")
    await one.interrupt("stop now")
    with pytest.raises(errors.WorkflowFailedError, match="stop now") as info:
        await result(one)
    assert info.value.error_type == "Interrupted"
    assert await result(await start(mf, "stopper", "i-2")) is True
    with pytest.raises(errors.WorkflowFailedError, match="no longer needed"):
        await result(two)


# -- hook ------------------------------------------------------------------


async def hooked() -> Any:
    await wf.search().set("stage", "waiting")
    await wf.hook("helper", args=["from the workflow"])
    got = await wf.wait_for("helped")
    return [got, await wf.search().get("helper_saw")]


async def helper(note: str) -> bool:
    info = wf.workflow_info()
    seen = await wf.search().get("stage")  # the same job's search fields
    await wf.enrich({"helper_saw": seen})
    await acts().echo(note)  # a durable step inside the hook function
    await wf.signal("helped", {"note": note, "hook": info["hook_id"] is not None})
    return True


async def test_hook_runs_a_function_inside_the_workflow_job(mf: Env) -> None:
    await mf.worker("fx", hooked)
    await mf.worker("fx", helper)
    handle = await start(mf, "hooked", workflow_id="h-1", signal_in=True)
    assert await result(handle) == [
        {"note": "from the workflow", "hook": True},
        "waiting",
    ]
    # and from the client, against a workflow that waits
    await mf.worker("fx", waiter)
    waiting = await start(mf, "waiter", "helped", workflow_id="h-2", signal_in=True)
    hook_id = await mf.client.workflow.hook("h-2", "helper", args=["from the client"])
    assert isinstance(hook_id, str) and hook_id
    assert await result(waiting) == {"note": "from the client", "hook": True}
    assert (await waiting.search_fields())["helper_saw"] is None
    # a workflow started without signal_in takes no hooks
    plain = await start(mf, "waiter", "x", workflow_id="h-3")
    with pytest.raises(errors.WorkflowError, match="signal_in"):
        await mf.client.workflow.hook("h-3", "helper", args=[])
    await plain.interrupt()


async def fragile(fail: bool) -> str:
    await wf.sleep_for(0.01)
    if fail:
        raise PermissionError("not allowed")
    return "fine"


async def test_signal_in_workflows_close_on_success_and_on_failure(mf: Env) -> None:
    await mf.worker("fx", fragile)
    ok = await start(mf, "fragile", False, signal_in=True)
    assert await result(ok) == "fine"
    bad = await start(mf, "fragile", True, signal_in=True)
    with pytest.raises(errors.WorkflowFailedError, match="not allowed") as info:
        await result(bad)
    assert info.value.error_type == "PermissionError"


# -- patched: changing a workflow's code under running workflows ---------------


async def flow() -> list[Any]:  # version 1
    first = await acts().echo("a")
    return [first, None, await wf.wait_for("go")]


async def flow_v2() -> list[Any]:  # version 2: one more activity, behind a patch
    first = await acts().echo("a")
    extra = await acts().echo("x") if wf.patched("extra-step") else None
    wf.deprecate_patch("an-older-patch")  # a no-op, for Temporal compatibility
    return [first, extra, await wf.wait_for("go")]


async def flow_v3() -> list[Any]:  # the same change without a patch
    first = await acts().echo("a")
    extra = await acts().echo("x")
    return [first, extra, await wf.wait_for("go")]


async def _waiting(mf: Env, workflow_id: str, signal_id: str) -> None:
    """Until the workflow's wait_for(signal_id) is registered (nothing announces it)."""
    conn = await asyncpg.connect(mf.conn["dsn"])
    try:
        key = f"memflow.wfs.wait:{workflow_id}:{signal_id}"
        sql = "SELECT 1 FROM hotmesh.signals WHERE key = $1 AND kind = 'hook'"

        async def registered() -> bool:
            return await conn.fetchval(sql, key) is not None

        await until_notified(mf.conn["dsn"], registered, 30, f"wait_for({signal_id!r})")
    finally:
        await conn.close()


async def test_patched_keeps_old_runs_on_the_old_path(mf: Env) -> None:
    await mf.worker("fx", flow)
    old = await start(mf, "flow", workflow_id="patch-old")
    unpatched = await start(mf, "flow", workflow_id="patch-unpatched")
    # Version 1 runs until both wait for "go": echo is recorded, the wait open.
    await asyncio.wait_for(_waiting(mf, "patch-old", "go"), 10)
    await asyncio.wait_for(_waiting(mf, "patch-unpatched", "go"), 10)
    flow_v2.__name__ = "flow"
    await mf.worker("fx", flow_v2)  # the code changes under the running ones
    new = await start(mf, "flow", workflow_id="patch-new")
    await old.signal("go", "old")
    await new.signal("go", "new")
    assert await result(old) == [["a"], None, "old"]  # replayed the old path
    assert await result(new) == [["a"], ["x"], "new"]  # ran the new one
    # (the new run's result came from an activation after the wait, which
    # replayed echo("x"): the recorded patch decision held on replay)
    flow_v3.__name__ = "flow"
    await mf.worker("fx", flow_v3)
    await unpatched.signal("go", "late")
    with pytest.raises(errors.WorkflowError, match="step 2"):
        await result(unpatched)


# -- plain (sync) activities run in a thread -----------------------------------

STARTED = threading.Event()
RELEASE = threading.Event()


def blocking(loop_thread: int) -> list[Any]:
    """Blocks until the test releases it; a blocked event loop could not."""
    STARTED.set()
    released = RELEASE.wait(10)
    return [released, threading.get_ident() != loop_thread]


async def runs_blocking() -> list[Any]:
    acts = wf.proxy_activities(activities={"blocking": blocking})
    return list(await acts.blocking(threading.get_ident()))


async def test_a_blocking_sync_activity_does_not_block_the_loop(mf: Env) -> None:
    STARTED.clear()
    RELEASE.clear()
    await mf.worker("fx", runs_blocking)
    handle = await start(mf, "runs_blocking")
    assert await asyncio.to_thread(STARTED.wait, 10)
    RELEASE.set()  # runs only because the activity does not hold the loop
    assert await result(handle) == [True, True]


# -- start_to_close_timeout ------------------------------------------------------

SLOW_CALLS: Counter[str] = Counter()


async def slow(seconds: float) -> str:
    SLOW_CALLS["slow"] += 1
    await asyncio.sleep(seconds)  # the activity's own work, cut short by the timeout
    return "finished"


async def times_out() -> list[Any]:
    acts = wf.proxy_activities(
        activities={"slow": slow},
        start_to_close_timeout="200ms",
        retry_policy={"maximum_attempts": 2, "initial_interval": 0.05},
    )
    try:
        await acts.slow(30)
    except errors.ActivityFailedError as exc:
        return [exc.error_type, "start_to_close_timeout" in str(exc)]
    return ["not raised"]


async def bad_option() -> None:
    wf.proxy_activities(activities={"slow": slow}, schedule_to_close="1s")


async def test_start_to_close_timeout_fails_each_attempt(mf: Env) -> None:
    SLOW_CALLS.clear()
    await mf.worker("fx", times_out)
    assert await result(await start(mf, "times_out")) == ["ActivityTimeoutError", True]
    assert SLOW_CALLS["slow"] == 2  # both attempts ran and were cut off


async def test_an_unknown_proxy_option_is_an_error(mf: Env) -> None:
    await mf.worker("fx", bad_option)
    with pytest.raises(errors.WorkflowFailedError, match="schedule_to_close"):
        await result(await start(mf, "bad_option"))
