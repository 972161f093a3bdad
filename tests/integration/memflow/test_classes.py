"""Class workflows the Temporal way (``@workflow.defn``), issue 19, on real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow


@wf.defn
class Order:
    """An order waits for approval; its quantity may change until then."""

    def __init__(self) -> None:
        self.qty = 1
        self.approved_by: str | None = None

    @wf.run
    async def run(self, order_id: str) -> str:
        await wf.wait_condition(lambda: self.approved_by is not None)
        return f"{order_id}: {self.qty} approved by {self.approved_by}"

    @wf.signal
    async def approve(self, by: str) -> None:
        self.approved_by = by

    @wf.query
    def status(self) -> str:
        return "approved" if self.approved_by else f"waiting ({self.qty})"

    @wf.update
    async def change_qty(self, qty: int) -> int:
        old, self.qty = self.qty, qty
        return old

    @change_qty.validator
    def check_qty(self, qty: int) -> None:
        if qty < 1:
            raise ValueError(f"qty must be at least 1, not {qty}")

    @wf.query(name="qty")
    def quantity(self) -> int:
        return self.qty


async def test_class_workflow(mf: Env) -> None:
    await mf.worker("cls", Order)
    handle = await mf.client.workflow.start(
        args=["o-7"], task_queue="cls", workflow_name=Order
    )
    assert handle.workflow_name == "Order"
    assert await handle.query(Order.status) == "waiting (1)"
    assert await handle.execute_update(Order.change_qty, 4) == 1
    with pytest.raises(errors.UpdateRejectedError, match="not 0"):
        await handle.execute_update("change_qty", 0)
    assert await handle.query("qty") == 4
    with pytest.raises(errors.UnknownHandlerError, match="'qty', 'status'"):
        await handle.query("quantity")
    await handle.signal(Order.approve, "ann")
    assert await asyncio.wait_for(handle.result(), 30) == "o-7: 4 approved by ann"
    assert await handle.query(Order.status) == "approved"


def test_a_class_needs_one_run_method() -> None:
    class NoRun:
        @wf.query
        def status(self) -> str:
            return ""

    with pytest.raises(errors.ConfigError, match=r"exactly one @workflow\.run"):
        wf.defn(NoRun)

    with pytest.raises(errors.ConfigError, match="must be an async def"):
        wf.run(lambda self: None)


async def test_an_undecorated_class_is_refused(mf: Env) -> None:
    class Plain:
        async def run(self) -> None:
            return None

    with pytest.raises(
        errors.ConfigError, match=r"decorate it with @MemFlow\.workflow\.defn"
    ):
        await mf.worker("cls", Plain)


@wf.defn
class Tally:
    """Adds by update (no validator) until told to finish."""

    def __init__(self) -> None:
        self.total = 0
        self.stop = False

    @wf.run
    async def run(self) -> int:
        await wf.wait_condition(lambda: self.stop)
        return self.total

    @wf.update
    async def add(self, n: int) -> int:
        self.total += n
        return self.total

    @wf.signal
    def finish(self) -> None:
        self.stop = True


async def test_an_update_without_validator_is_sent_without_a_replay(
    mf: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a validator needs the replayed state: a class's update method
    without one is checked (its arguments) in the caller with no replay,
    whose cost grows with the history. An unknown name still replays."""
    from hotmesh.memflow import runner, updates

    replays: list[str] = []
    replay = runner.query

    async def counted(*args: object, **kw: object) -> object:
        replays.append(str(args[3]))
        return await replay(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(updates.runner, "query", counted)
    await mf.worker("tally", Tally)
    handle = await mf.client.workflow.start(
        args=[], task_queue="tally", workflow_name=Tally
    )
    assert [await handle.execute_update(Tally.add, n) for n in (2, 3)] == [2, 5]
    assert replays == []
    # arguments that do not convert are refused here: nothing is sent
    with pytest.raises(errors.DataConversionError, match="expected int"):
        await handle.start_update(Tally.add, "x")
    with pytest.raises(errors.UnknownHandlerError):
        await handle.execute_update("subtract", 1)
    assert replays == ["subtract"]
    await handle.signal(Tally.finish)
    assert await asyncio.wait_for(handle.result(), 30) == 5
    data = (await handle._read()).data
    sent = [v for k, v in data.items() if k.startswith("-evt:")]
    assert [e.get("args") for e in sent if e.get("kind") == "update"] == [[2], [3]]
