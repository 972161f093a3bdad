"""What a user's type checker sees (issue 23), checked by ``test_typing_sample``
with ``mypy --strict``: typed handles, proxied activity signatures, dataclass
round trips. Never run; ``# type: ignore[...]`` lines are errors mypy must
report (``--warn-unused-ignores`` fails on one it does not)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, assert_type

from hotmesh import MemFlow
from hotmesh.memflow.client import WorkflowHandle

wf = MemFlow.workflow


@dataclass
class Order:
    item: str
    qty: int


@dataclass
class Receipt:
    order: Order
    total: Decimal


class Billing:
    """Activities as the async methods of an object: proxied with their types."""

    async def price(self, item: str) -> Decimal:
        return Decimal("9.50")

    async def charge(self, order: Order, total: Decimal) -> Receipt:
        return Receipt(order, total)


async def order_workflow(item: str, qty: int) -> str:
    acts = wf.proxy_activities(Billing(), task_queue="billing")
    unit = await acts.price(item)
    assert_type(unit, Decimal)
    receipt = await acts.charge(Order(item, qty), unit * qty)
    assert_type(receipt, Receipt)
    await acts.price(5)  # type: ignore[arg-type]
    await acts.refund(item)  # type: ignore[attr-defined]
    loose = wf.proxy_activities({"price": Billing().price})
    assert_type(loose, Any)  # a dict of functions: untyped
    return f"{receipt.order.item}: {receipt.total}"


async def receipt_workflow(order: Order) -> Receipt:
    return Receipt(order, Decimal(order.qty))


async def main() -> None:
    async with MemFlow.Client({"connection": {"dsn": "postgresql://x/db"}}) as client:
        handle = await client.workflow.start(
            order_workflow, "item-1", 5, task_queue="q"
        )
        assert_type(handle, WorkflowHandle[str])
        assert_type(await handle.result(), str)

        typed = await client.workflow.start(
            receipt_workflow, Order("a", 2), task_queue="q"
        )
        assert_type(typed, WorkflowHandle[Receipt])
        receipt = await typed.result()
        assert_type(receipt.order, Order)  # the dataclass round trip, typed
        assert_type(receipt.total, Decimal)

        by_name = await client.workflow.start(
            "order_workflow", "item-1", 5, task_queue="q"
        )
        assert_type(by_name, WorkflowHandle[Any])
        assert_type(await by_name.result(), Any)

        older = await client.workflow.start(["i", 1], "q", workflow_name=order_workflow)
        assert_type(older, WorkflowHandle[str])

        value = await client.workflow.execute(
            receipt_workflow, Order("b", 1), task_queue="q"
        )
        assert_type(value, Receipt)
        again = client.workflow.get_handle("q", receipt_workflow, handle.workflow_id)
        assert_type(again, WorkflowHandle[Receipt])
        assert_type(client.workflow.get_handle("q", "x", "id"), WorkflowHandle[Any])
