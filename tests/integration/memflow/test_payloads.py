"""Typed payloads through real workflows (issue 23): dataclasses, Pydantic
models, enums, dates, decimals and sets go in and come back as the types the
workflow's, activity's and handler's signatures declare."""

from __future__ import annotations

import asyncio
import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from hotmesh import MemFlow, errors
from hotmesh.memflow.converter import DefaultConverter
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow


class Tier(enum.Enum):
    GOLD = "gold"
    BASIC = "basic"


@dataclass
class Line:
    sku: str
    qty: int
    price: Decimal


@dataclass
class Order:
    id: uuid.UUID
    lines: list[Line]
    placed: datetime
    tier: Tier
    tags: set[str]


class Quote(pydantic.BaseModel):
    total: Decimal
    due: date


@dataclass
class Receipt:
    order_id: uuid.UUID
    quote: Quote
    seen: list[str]


SEEN: list[str] = []


async def price(lines: list[Line], tier: Tier) -> Quote:
    # the activity gets its declared types, not dicts and strings
    SEEN.append(f"{type(lines[0]).__name__}/{type(lines[0].price).__name__}/{tier}")
    total = sum((line.price * line.qty for line in lines), Decimal(0))
    if tier is Tier.GOLD:
        total = total * Decimal("0.9")
    return Quote(total=total, due=date(2027, 1, 31))


async def order_workflow(order: Order, copies: int) -> Receipt:
    acts = wf.proxy_activities({"price": price})
    quote = await acts.price(order.lines, order.tier)
    seen = [
        type(order).__name__,
        type(order.placed).__name__,
        type(order.tags).__name__,
        type(quote).__name__,
        type(quote.total).__name__,
    ]
    await wf.search().set("placed", order.placed)
    return Receipt(order.id, quote, seen * copies)


ORDER = Order(
    id=uuid.UUID("0b0b0b0b-0000-4000-8000-000000000001"),
    lines=[Line("a", 2, Decimal("10.00")), Line("b", 1, Decimal("5.50"))],
    placed=datetime(2026, 12, 7, 18, 30, tzinfo=UTC),
    tier=Tier.GOLD,
    tags={"gift", "rush"},
)


async def test_typed_values_round_trip_through_a_workflow_and_an_activity(
    mf: Env,
) -> None:
    SEEN.clear()
    await mf.worker("typed", order_workflow)
    handle = await mf.client.workflow.start(
        order_workflow, ORDER, 1, task_queue="typed"
    )
    receipt = await asyncio.wait_for(handle.result(), 30)
    assert receipt == Receipt(
        ORDER.id,
        Quote(total=Decimal("22.950"), due=date(2027, 1, 31)),
        ["Order", "datetime", "set", "Quote", "Decimal"],
    )
    assert SEEN == ["Line/Decimal/Tier.GOLD"]
    # stored as JSON: the start argument, and the search field as ISO text
    stored = await handle.query_state(["placed"])
    assert stored == {"placed": "2026-12-07T18:30:00+00:00"}
    # a handle on the same workflow by name gets the stored JSON
    raw = await mf.client.workflow.get_handle(
        "typed", "order_workflow", handle.workflow_id
    ).result()
    assert raw["quote"] == {"total": "22.950", "due": "2027-01-31"}


async def test_a_value_that_cannot_be_converted_is_refused_naming_the_argument(
    mf: Env,
) -> None:
    await mf.worker("typed-bad", order_workflow)
    with pytest.raises(
        errors.DataConversionError,
        match=r"workflow 'order_workflow' argument 'copies': type object cannot",
    ):
        await mf.client.workflow.start(
            order_workflow, ORDER, object(), task_queue="typed-bad", workflow_id="bad-1"
        )
    # nothing was started
    assert (await mf.client.list_workflows(task_queue="typed-bad")).workflows == []


async def test_json_that_is_not_the_declared_type_fails_the_workflow_naming_it(
    mf: Env,
) -> None:
    await mf.worker("typed-wrong", order_workflow)
    handle = await mf.client.workflow.start(
        args=[{"id": "nope"}, 1],
        task_queue="typed-wrong",
        workflow_name="order_workflow",
    )
    with pytest.raises(errors.WorkflowFailedError) as caught:
        await asyncio.wait_for(handle.result(), 30)
    assert caught.value.error_type == "DataConversionError"
    assert "argument 'order'.id: expected UUID, got str 'nope'" in str(caught.value)


@wf.defn
class Cart:
    """Handlers take and return typed values too."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.closed_at: datetime | None = None

    @wf.run
    async def run(self, owner: str) -> list[Line]:
        await wf.wait_condition(lambda: self.closed_at is not None)
        return self.lines

    @wf.signal
    async def add(self, line: Line) -> None:
        assert isinstance(line.price, Decimal)
        self.lines.append(line)

    @wf.query
    def total(self) -> Decimal:
        return sum((line.price * line.qty for line in self.lines), Decimal(0))

    @wf.update
    async def close(self, when: datetime) -> tuple[int, datetime]:
        self.closed_at = when
        return len(self.lines), when


async def test_signals_queries_and_updates_carry_typed_values(mf: Env) -> None:
    await mf.worker("cart", Cart)
    handle = await mf.client.workflow.start(Cart, "ann", task_queue="cart")
    await handle.signal(Cart.add, Line("a", 3, Decimal("1.25")))
    await handle.signal("add", Line("b", 1, Decimal("0.25")))
    total = await handle.query(Cart.total)
    assert total == Decimal("4.00") and isinstance(total, Decimal)
    when = datetime(2026, 12, 24, tzinfo=UTC)
    assert await handle.execute_update(Cart.close, when) == (2, when)
    lines = await asyncio.wait_for(handle.result(), 30)
    # started by the class: decoded as its @run method declares
    assert lines == [Line("a", 3, Decimal("1.25")), Line("b", 1, Decimal("0.25"))]
    by_name = mf.client.workflow.get_handle("cart", "Cart", handle.workflow_id)
    assert (await by_name.result())[0] == {"sku": "a", "qty": 3, "price": "1.25"}


class Money:
    """A type the default converter does not know."""

    def __init__(self, cents: int, currency: str) -> None:
        self.cents, self.currency = cents, currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.cents, self.currency) == (
            other.cents,
            other.currency,
        )

    __hash__ = None  # type: ignore[assignment]


class MoneyConverter(DefaultConverter):
    def to_json(self, value: Any, where: str = "value") -> Any:
        if isinstance(value, Money):
            return f"{value.cents} {value.currency}"
        return super().to_json(value, where)

    def from_json(self, value: Any, hint: Any, where: str = "value") -> Any:
        if hint is Money:
            cents, currency = str(value).split()
            return Money(int(cents), currency)
        return super().from_json(value, hint, where)


async def double(amount: Money) -> Money:
    return Money(amount.cents * 2, amount.currency)


async def money_workflow(amount: Money) -> Money:
    acts = wf.proxy_activities({"double": double})
    return await acts.double(amount)


async def test_a_custom_converter_on_the_client_and_the_worker(mf: Env) -> None:
    conv = MoneyConverter()
    await mf.worker("money", money_workflow, data_converter=conv)
    client = MemFlow.Client({"connection": mf.conn, "data_converter": conv})
    try:
        handle = await client.workflow.start(
            money_workflow, Money(250, "EUR"), task_queue="money"
        )
        assert await asyncio.wait_for(handle.result(), 30) == Money(500, "EUR")
        assert (await handle.state())["response"] == "500 EUR"
        # the default converter refuses the type, naming it
        with pytest.raises(errors.DataConversionError, match="type Money cannot"):
            await mf.client.workflow.start(
                money_workflow, Money(1, "EUR"), task_queue="money"
            )
    finally:
        await client.close()
    with pytest.raises(errors.ConfigError, match="data_converter must have to_json"):
        MemFlow.Client({"connection": mf.conn, "data_converter": object()})


async def test_a_schedule_stores_typed_arguments_as_the_client_would(mf: Env) -> None:
    SEEN.clear()
    await mf.worker("typed-sched", order_workflow)
    made = await mf.client.schedule.create(
        order_workflow, args=[ORDER, 1], task_queue="typed-sched", every="1h"
    )
    assert made["args"][0]["tags"] == ["gift", "rush"]  # stored as JSON
    started = await mf.client.schedule.trigger(made["id"])
    handle = mf.client.workflow.get_handle("typed-sched", order_workflow, started)
    receipt = await asyncio.wait_for(handle.result(), 30)
    assert receipt.seen[0] == "Order" and receipt.order_id == ORDER.id
    await mf.client.schedule.delete(made["id"])
    with pytest.raises(errors.DataConversionError, match="argument 'copies'"):
        await mf.client.schedule.create(
            order_workflow, args=[ORDER, object()], task_queue="typed-sched", every="1h"
        )
