"""Replay, determinism, failures, ids and handles."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
RUNS: Counter[str] = Counter()
CALLS: Counter[str] = Counter()
FLAGS: dict[str, bool] = {}


async def step(name: str) -> str:
    CALLS[name] += 1
    return name.upper()


async def flaky(times: int) -> str:
    """Fails ``times`` times, then succeeds."""
    CALLS["flaky"] += 1
    if CALLS["flaky"] <= times:
        raise ConnectionError(f"flaky attempt {CALLS['flaky']}")
    return "ok"


async def broken() -> None:
    CALLS["broken"] += 1
    raise ValueError("inventory service is down")


async def flip() -> str:
    FLAGS["changed"] = True
    return "flipped"


ACTS = {"step": step, "flaky": flaky, "broken": broken, "flip": flip}
FAST = {"maximum_attempts": 3, "initial_interval": 0.05, "backoff_coefficient": 2}


async def result(handle: Any, timeout: float = 10) -> Any:
    return await asyncio.wait_for(handle.result(), timeout)


async def five_steps() -> list[str]:
    RUNS["five_steps"] += 1
    acts = wf.proxy_activities(activities=ACTS)
    out = [await acts.step(f"s{i}") for i in range(3)]
    await wf.sleep_for(0.05)
    out.append(await acts.step("s3"))
    return out


async def test_replay_does_not_re_execute_completed_activities(mf: Env) -> None:
    CALLS.clear()
    RUNS.clear()
    await mf.worker("sx", five_steps)
    handle = await mf.client.workflow.start(task_queue="sx", workflow_name="five_steps")
    assert await result(handle) == ["S0", "S1", "S2", "S3"]
    assert CALLS == {"s0": 1, "s1": 1, "s2": 1, "s3": 1}
    assert RUNS["five_steps"] == 6  # 1 + 3 activities + 1 sleep + 1 activity


async def drifting() -> str:
    acts = wf.proxy_activities(activities=ACTS)
    if FLAGS.get("changed"):
        await wf.sleep_for(1)  # the code changed under a running workflow
    await acts.flip()
    return "unreachable"


async def test_changed_call_sequence_raises_nondeterminism_error(mf: Env) -> None:
    FLAGS.clear()
    await mf.worker("sx", drifting)
    handle = await mf.client.workflow.start(
        task_queue="sx", workflow_name="drifting", workflow_id="drift-1"
    )
    with pytest.raises(errors.NondeterminismError) as info:
        await result(handle)
    message = str(info.value)
    assert "step 1" in message
    assert "proxy 'flip'" in message and "sleep" in message


async def retrying() -> list[Any]:
    acts = wf.proxy_activities(activities=ACTS, retry_policy=FAST)
    first = await acts.flaky(2)  # fails twice, third attempt succeeds
    try:
        await acts.broken()
    except errors.ActivityFailedError as exc:
        return [first, exc.activity, exc.error_type, str(exc)]
    return [first, "not raised"]


async def test_activity_retries_then_a_catchable_typed_failure(mf: Env) -> None:
    CALLS.clear()
    await mf.worker("sx", retrying)
    handle = await mf.client.workflow.start(task_queue="sx", workflow_name="retrying")
    first, name, kind, message = await result(handle)
    assert first == "ok" and CALLS["flaky"] == 3
    assert (name, kind) == ("broken", "ValueError")
    assert "inventory service is down" in message
    assert CALLS["broken"] == 3  # maximum_attempts


async def failing(code: str) -> None:
    await wf.proxy_activities(activities=ACTS).step("before")
    raise KeyError(code)


async def test_uncaught_workflow_error_raises_remote_type_and_message(
    mf: Env,
) -> None:
    await mf.worker("sx", failing)
    handle = await mf.client.workflow.start(
        args=["sku-1"], task_queue="sx", workflow_name="failing", workflow_id="f-1"
    )
    with pytest.raises(errors.WorkflowFailedError) as info:
        await result(handle)
    assert info.value.error_type == "KeyError"
    assert "'sku-1'" in str(info.value) and info.value.workflow_id == "f-1"
    assert await handle.result(throw_on_error=False) == {"error": str(info.value)}


async def parked() -> Any:
    return await wf.wait_for("release")


async def test_duplicate_workflow_id_raises_a_clear_error(mf: Env) -> None:
    await mf.worker("sx", parked)
    await mf.client.workflow.start(
        task_queue="sx", workflow_name="parked", workflow_id="dup-1"
    )
    with pytest.raises(errors.DuplicateWorkflowError, match="'dup-1'"):
        await mf.client.workflow.start(
            task_queue="sx", workflow_name="parked", workflow_id="dup-1"
        )


async def test_handle_from_another_client(mf: Env) -> None:
    await mf.worker("sx", parked)
    await mf.worker("sx", five_steps)
    await mf.client.workflow.start(
        task_queue="sx", workflow_name="parked", workflow_id="far-1"
    )
    other = MemFlow.Client({"connection": mf.conn})
    try:
        handle = other.workflow.get_handle("sx", "parked", "far-1")
        assert await handle.status() > 0
        waiting = asyncio.ensure_future(handle.result())
        await mf.client.workflow.signal("release", "from A", workflow_id="far-1")
        assert await asyncio.wait_for(waiting, 10) == "from A"
        assert await handle.status() == 0
        history = await handle.export()
        assert history["data"]["response"] == "from A"
        kinds = [a["type"] for a in history["activities"]]
        assert kinds.count("worker") == 2 and "await" in kinds  # two runs, one wait
        # execute = start + result
        again = await other.workflow.execute(
            task_queue="sx", workflow_name="five_steps", workflow_id="far-2"
        )
        assert again == ["S0", "S1", "S2", "S3"]
    finally:
        await other.close()
