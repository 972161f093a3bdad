"""MemFlow.Replayer: recorded histories replayed against changed code (issue 23)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from hotmesh.memflow import Replayer
from hotmesh.testing import WorkflowEnvironment
from tests.integration.memflow.conftest import Env

QUEUE = "replay-q"


async def reserve(item: str, qty: int) -> str:
    return f"r-{item}-{qty}"


async def charge(amount: int) -> str:
    return f"c-{amount}"


async def order(item: str, qty: int) -> dict[str, Any]:
    acts = MemFlow.workflow.proxy_activities(activities=[reserve, charge])
    reservation = await acts.reserve(item, qty)
    await MemFlow.workflow.sleep_for(1)
    payment = await acts.charge(qty * 10)
    return {"reservation": reservation, "payment": payment}


async def recorded(mf: Env, workflow: Any, *args: Any) -> dict[str, Any]:
    await mf.worker(QUEUE, workflow)
    handle = await mf.client.workflow.start(
        args=list(args), task_queue=QUEUE, workflow_name=workflow
    )
    await handle.result(timeout=30)
    return await handle.fetch_history()


async def test_unchanged_code_replays_clean_from_a_dict_json_text_or_a_file(
    mf: Env, tmp_path: Path
) -> None:
    history = await recorded(mf, order, "book", 2)
    assert [(s["kind"], s.get("name"), s.get("args")) for s in history["steps"]] == [
        ("proxy", "reserve", ["book", 2]),
        ("sleep", None, None),
        ("proxy", "charge", [20]),
    ]
    assert history["status"] == "completed"
    replayer = MemFlow.Replayer(workflows=[order])
    done = await replayer.replay(history)
    assert (done.workflow_name, done.steps, done.generations) == ("order", 3, 1)
    text = json.dumps(history)
    assert (await replayer.replay(text)).steps == 3
    saved = tmp_path / "h.json"
    saved.write_text(text)
    assert (await replayer.replay(saved)).steps == 3


async def test_a_changed_order_of_activities_is_caught_at_its_step(mf: Env) -> None:
    history = await recorded(mf, order, "book", 2)

    async def order_swapped(item: str, qty: int) -> dict[str, Any]:
        acts = MemFlow.workflow.proxy_activities(activities=[reserve, charge])
        payment = await acts.charge(qty * 10)  # now first
        await MemFlow.workflow.sleep_for(1)
        reservation = await acts.reserve(item, qty)
        return {"reservation": reservation, "payment": payment}

    order_swapped.__name__ = "order"
    with pytest.raises(errors.NondeterminismError) as caught:
        await Replayer(workflows=[order_swapped]).replay(history)
    message = str(caught.value)
    assert "step 1" in message
    assert "'reserve'" in message and "'charge'" in message


async def test_a_changed_argument_is_caught_at_its_step(mf: Env) -> None:
    history = await recorded(mf, order, "book", 2)

    async def order_new_price(item: str, qty: int) -> dict[str, Any]:
        acts = MemFlow.workflow.proxy_activities(activities=[reserve, charge])
        reservation = await acts.reserve(item, qty)
        await MemFlow.workflow.sleep_for(1)
        payment = await acts.charge(qty * 12)  # the price changed
        return {"reservation": reservation, "payment": payment}

    with pytest.raises(errors.NondeterminismError) as caught:
        await Replayer(workflows={"order": order_new_price}).replay(history)
    message = str(caught.value)
    assert "step 3" in message
    assert "[20]" in message and "[24]" in message


async def test_a_changed_sleep_an_added_step_and_a_removed_one_are_caught(
    mf: Env,
) -> None:
    history = await recorded(mf, order, "book", 2)

    async def longer_sleep(item: str, qty: int) -> Any:
        acts = MemFlow.workflow.proxy_activities(activities=[reserve, charge])
        await acts.reserve(item, qty)
        await MemFlow.workflow.sleep_for(5)
        return await acts.charge(qty * 10)

    async def one_more(item: str, qty: int) -> Any:
        await order(item, qty)
        acts = MemFlow.workflow.proxy_activities(activities=[charge])
        return await acts.charge(1)

    async def one_less(item: str, qty: int) -> Any:
        acts = MemFlow.workflow.proxy_activities(activities=[reserve])
        return await acts.reserve(item, qty)

    expected = {longer_sleep: "step 2", one_more: "step 4", one_less: "step 2"}
    for changed, step in expected.items():
        changed.__name__ = "order"
        with pytest.raises(errors.NondeterminismError, match=step):
            await Replayer(workflows=[changed]).replay(history)


async def waits(item: str) -> Any:
    acts = MemFlow.workflow.proxy_activities(activities=[reserve])
    first = await acts.reserve(item, 1)
    got = await MemFlow.workflow.wait_for("go")
    return [first, got]


async def test_a_workflow_still_running_replays_up_to_where_it_is(
    pg_dsn: str,
) -> None:
    async with await WorkflowEnvironment.start_time_skipping(pg_dsn) as env:
        async with MemFlow.Worker.create(
            {"connection": env.connection, "task_queue": QUEUE, "workflow": waits}
        ):
            handle = await env.client.workflow.start(
                args=["pen"], task_queue=QUEUE, workflow_name=waits
            )
            await env.sleep(0)  # lets the work settle: it waits for the signal
            history = await handle.fetch_history()
            assert history["status"] == "running"
            assert [s["kind"] for s in history["steps"]] == ["proxy", "wait"]
            done = await Replayer(workflows=[waits]).replay(history)
            assert done.steps == 2
            await env.client.workflow.signal("go", "now", handle.workflow_id)
            assert await handle.result(timeout=10) == ["r-pen-1", "now"]
            assert (
                await Replayer(workflows=[waits]).replay(await handle.fetch_history())
            ).steps == 2


async def test_a_history_for_a_workflow_not_given_names_it() -> None:
    history = {
        "format": "hotmesh.memflow.history",
        "version": 1,
        "workflow_name": "ordr",
        "generations": [],
        "steps": [],
        "state": {},
    }
    with pytest.raises(errors.ConfigError, match="did you mean 'order'"):
        await Replayer(workflows=[order]).replay(history)
    with pytest.raises(errors.ConfigError, match="not a MemFlow history"):
        await Replayer(workflows=[order]).replay({"steps": []})


async def counts(n: int) -> int:
    acts = MemFlow.workflow.proxy_activities(activities=[charge])
    await acts.charge(n)
    if n < 3:
        MemFlow.workflow.continue_as_new(n + 1)
    return n


async def test_each_generation_of_a_workflow_that_continued_as_new_is_replayed(
    mf: Env,
) -> None:
    history = await recorded(mf, counts, 1)
    assert [g["arguments"] for g in history["generations"]] == [[1], [2], [3]]
    done = await Replayer(workflows=[counts]).replay(history)
    assert (done.steps, done.generations) == (3, 3)

    async def counts_double(n: int) -> int:
        acts = MemFlow.workflow.proxy_activities(activities=[charge])
        await acts.charge(n * 2)
        if n < 3:
            MemFlow.workflow.continue_as_new(n + 1)
        return n

    counts_double.__name__ = "counts"
    with pytest.raises(errors.NondeterminismError, match=r"step 1: .*\[1\].*\[2\]"):
        await Replayer(workflows=[counts_double]).replay(history)


@MemFlow.workflow.defn(name="approval")
class Approval:
    def __init__(self) -> None:
        self.approvers: list[str] = []

    @MemFlow.workflow.signal
    def approve(self, who: str) -> None:
        self.approvers.append(who)

    @MemFlow.workflow.run
    async def run(self, needed: int) -> str:
        acts = MemFlow.workflow.proxy_activities(activities=[charge])
        await MemFlow.workflow.wait_condition(lambda: len(self.approvers) >= needed)
        return await acts.charge(len(self.approvers))


async def test_a_class_workflow_with_signals_replays_its_recorded_events(
    pg_dsn: str,
) -> None:
    async with await WorkflowEnvironment.start_time_skipping(pg_dsn) as env:
        async with MemFlow.Worker.create(
            {"connection": env.connection, "task_queue": QUEUE, "workflow": Approval}
        ):
            handle = await env.client.workflow.start(
                args=[2], task_queue=QUEUE, workflow_name=Approval
            )
            await handle.signal("approve", "ann")
            await handle.signal("approve", "bob")
            assert await handle.result(timeout=30) == "c-2"
            history = await handle.fetch_history()
    assert (await Replayer(workflows=[Approval]).replay(history)).steps >= 1

    @MemFlow.workflow.defn(name="approval")
    class ApprovalOneEnough(Approval):
        @MemFlow.workflow.run
        async def run(self, needed: int) -> str:
            acts = MemFlow.workflow.proxy_activities(activities=[charge])
            await MemFlow.workflow.wait_condition(lambda: len(self.approvers) >= 1)
            return await acts.charge(len(self.approvers))

    with pytest.raises(errors.NondeterminismError, match=r"\[2\].*\[1\]"):
        await Replayer(workflows=[ApprovalOneEnough]).replay(history)


@dataclass
class Line:
    sku: str
    qty: int


async def price(line: Line) -> int:
    return line.qty * 3


async def child_total(line: Line) -> int:
    acts = MemFlow.workflow.proxy_activities(activities=[price])
    return await acts.price(line)


async def typed(line: Line) -> int:
    return await MemFlow.workflow.exec_child(
        child_total, args=[line], workflow_id=f"child-{line.sku}"
    )


async def test_typed_arguments_compare_as_recorded_and_a_changed_field_is_caught(
    mf: Env,
) -> None:
    await mf.worker(QUEUE, child_total)
    history = await recorded(mf, typed, Line("pen", 4))
    assert history["steps"][0]["args"] == [{"sku": "pen", "qty": 4}]
    assert (await Replayer(workflows=[typed]).replay(history)).steps == 1

    async def typed_more(line: Line) -> int:
        bigger = Line(line.sku, line.qty + 1)
        return await MemFlow.workflow.exec_child(
            child_total, args=[bigger], workflow_id=f"child-{line.sku}"
        )

    with pytest.raises(errors.NondeterminismError, match=r"step 1: .*\"qty\": 5"):
        await Replayer(workflows={"typed": typed_more}).replay(history)
