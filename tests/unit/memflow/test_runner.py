"""The activation runner without a database: replay, interruptions, codes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from hotmesh.engine.retry import seconds
from hotmesh.memflow import registry, runner

NS = "mfunit"
calls: list[str] = []


async def double(x: int) -> int:
    return x * 2


async def two_steps(x: int) -> int:
    acts = MemFlow.workflow.proxy_activities(activities={"double": double})
    a = await acts.double(x)
    b = await acts.double(a)
    return int(b)


async def fan(n: int) -> list[int]:
    acts = MemFlow.workflow.proxy_activities(activities={"double": double})
    return list(await asyncio.gather(*(acts.double(i) for i in range(n))))


async def mixed() -> Any:
    acts = MemFlow.workflow.proxy_activities(activities={"double": double})
    return await asyncio.gather(
        acts.double(1),
        MemFlow.workflow.sleep_for("2 seconds"),
        MemFlow.workflow.wait_for("go"),
        MemFlow.workflow.exec_child("two_steps", args=[1]),
    )


async def swapped(x: int) -> int:
    await MemFlow.workflow.sleep_for(1)
    return x


async def renew(n: int) -> int:
    if n < 3:
        MemFlow.workflow.continue_as_new(n + 1)
    return n


async def boom() -> None:
    raise ValueError("bad input")


def message(
    name: str, args: list[Any], state: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {},
        "data": {
            "workflowId": "wf-1",
            "workflowName": name,
            "taskQueue": "q",
            "arguments": args,
            "generation": 0,
            "state": state or {},
        },
    }


@pytest.fixture(autouse=True)
def _registered() -> None:
    for fn in (two_steps, fan, mixed, swapped, renew, boom):
        registry.add_workflow(NS, "q", fn)


async def test_first_call_interrupts_with_591_then_replays() -> None:
    out = await runner.activate(NS, message("two_steps", [3]))
    assert out["code"] == 591
    assert out["data"]["topic"] == "q-activity"
    assert out["data"]["input"]["name"] == "double"
    assert out["data"]["input"]["args"] == [3]
    assert out["data"]["input"]["marker"] == "-proxy-1-"
    state = {"-proxy-1-": {"data": 6, "name": "double"}}
    out = await runner.activate(NS, message("two_steps", [3], state))
    assert out["code"] == 591 and out["data"]["input"]["args"] == [6]
    state["-proxy-2-"] = {"data": 12, "name": "double"}
    out = await runner.activate(NS, message("two_steps", [3], state))
    assert out == {"code": 200, "data": {"done": True, "response": 12}}


async def test_gather_registers_every_branch_as_589_items() -> None:
    out = await runner.activate(NS, message("fan", [100]))
    assert out["code"] == 589
    items = out["data"]["items"]
    assert [i["index"] for i in items] == list(range(1, 101))
    assert {i["type"] for i in items} == {"proxy"}
    state = {
        i["marker"]: {"data": n * 2, "name": "double"} for n, i in enumerate(items)
    }
    out = await runner.activate(NS, message("fan", [100], state))
    assert out["data"]["response"] == [n * 2 for n in range(100)]


async def test_gather_of_mixed_kinds() -> None:
    out = await runner.activate(NS, message("mixed", []))
    assert out["code"] == 589
    kinds = [i["type"] for i in out["data"]["items"]]
    assert kinds == ["proxy", "sleep", "wait", "child"]
    sleep, wait, child = out["data"]["items"][1:]
    assert sleep["duration"] == 2.0 and sleep["record"] == {
        "-sleep-2-": {"duration": 2.0}
    }
    assert wait["wait"] == {"key": "wf-1:go"}
    assert child["child"]["workflowId"] == "wf-1-two_steps-4"
    assert child["child"]["parentWorkflowId"] == "wf-1"


async def test_changed_sequence_raises_nondeterminism_naming_the_step() -> None:
    state = {"-proxy-1-": {"data": 6, "name": "double"}}
    out = await runner.activate(NS, message("swapped", [1], state))
    assert out["status"] == "error" and out["code"] == 598
    assert out["data"]["error"]["type"] == "NondeterminismError"
    assert "step 1" in out["data"]["message"]
    assert (
        "proxy 'double'" in out["data"]["message"] and "sleep" in out["data"]["message"]
    )


async def test_continue_as_new_and_uncaught_error() -> None:
    out = await runner.activate(NS, message("renew", [1]))
    assert out == {"code": 592, "data": {"continueArgs": [2], "generation": 1}}
    out = await runner.activate(NS, message("boom", []))
    assert out["status"] == "error"
    assert out["data"]["error"] == {"type": "ValueError", "message": "bad input"}
    assert "ValueError: bad input" in out["data"]["stack"]


async def test_unknown_workflow_fails_clearly() -> None:
    out = await runner.activate(NS, message("nobody", []))
    assert "no workflow 'nobody'" in out["data"]["message"]


def test_durations() -> None:
    assert seconds("30 days") == 30 * 86400
    assert seconds("1s") == 1.0 and seconds("5 minutes") == 300.0
    assert seconds(2.5) == 2.5 and seconds("500ms") == 0.5
    with pytest.raises(errors.ConfigError):
        seconds("soon")


def test_functions_refuse_to_run_outside_a_workflow() -> None:
    with pytest.raises(errors.WorkflowError, match="inside a workflow"):
        MemFlow.workflow.random()


def test_retry_policy_defaults_aliases_and_durations() -> None:
    from hotmesh.memflow.workflow import DEFAULT_RETRY, make_policy

    assert make_policy(None) == DEFAULT_RETRY
    policy = make_policy(
        {"maximumAttempts": 3, "initial_interval": "1s", "maximumInterval": "2 minutes"}
    )
    assert policy["maximum_attempts"] == 3
    assert policy["initial_interval"] == 1.0 and policy["maximum_interval"] == 120.0
    assert policy["backoff_coefficient"] == 5


async def test_failed_activity_replays_as_a_typed_error_or_a_value() -> None:
    async def careful() -> Any:
        soft = MemFlow.workflow.proxy_activities(
            activities={"double": double}, retry_policy={"throw_on_error": False}
        )
        value = await soft.double(1)
        hard = MemFlow.workflow.proxy_activities(activities={"double": double})
        try:
            await hard.double(2)
        except errors.ActivityFailedError as exc:
            return [value, exc.activity, exc.error_type]
        return "not raised"

    registry.add_workflow(NS, "q", careful)
    failed = {
        "error": {"type": "ZeroDivisionError", "message": "boom"},
        "name": "double",
    }
    state = {"-proxy-1-": failed, "-proxy-2-": failed}
    out = await runner.activate(NS, message("careful", [], state))
    assert out["data"]["response"] == [
        {"error": {"type": "ZeroDivisionError", "message": "boom"}},
        "double",
        "ZeroDivisionError",
    ]


async def test_a_workflow_swallowing_cancellation_cannot_change_the_answer() -> None:
    async def stubborn() -> str:
        acts = MemFlow.workflow.proxy_activities(activities={"double": double})
        try:
            await acts.double(1)
        except BaseException:
            return "escaped"
        return "unreachable"

    registry.add_workflow(NS, "q", stubborn)
    out = await runner.activate(NS, message("stubborn", []))
    assert out["code"] == 591 and out["data"]["input"]["args"] == [1]
