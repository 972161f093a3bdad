"""The README's order workflow written as code (MemFlow), with the common patterns.

    python examples/memflow_order.py

Uses DATABASE_URL / HOTMESH_DSN when set, otherwise a private embedded
PostgreSQL. Runs the order workflow through both branches, then three patterns:
a durable sleep, activities in parallel, and a child workflow.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hotmesh import MemFlow
from hotmesh.config import resolve_dsn

STOCK = {"item-123": 10, "item-9": 0}


# -- activities: plain functions, run durably on their own task queue -----------
async def check_inventory(item_id: str) -> int:
    return STOCK.get(item_id, 0)


async def reserve_item(item_id: str, qty: int) -> str:
    STOCK[item_id] -= qty
    return f"reserved {qty} of {item_id}"


async def notify_backorder(item_id: str) -> bool:
    print(f"  (emailing the customer: {item_id} is back-ordered)")
    return True


async def price(item_id: str) -> float:
    return {"item-123": 9.5, "item-9": 3.0}.get(item_id, 0.0)


ACTIVITIES = [check_inventory, reserve_item, notify_backorder, price]
RETRY = {"maximum_attempts": 3, "backoff_coefficient": 2, "initial_interval": "1s"}
wf = MemFlow.workflow


# -- workflows: ordinary async functions, replayed deterministically ------------
async def order_workflow(item_id: str, qty: int) -> str:
    acts = wf.proxy_activities(
        activities=ACTIVITIES, task_queue="inventory-tasks", retry_policy=RETRY
    )
    available = await acts.check_inventory(item_id)
    if available >= qty:
        return str(await acts.reserve_item(item_id, qty))
    await acts.notify_backorder(item_id)
    return "backordered"


async def remind_later(item_id: str, seconds: float) -> str:
    """A long sleep costs nothing while it waits (here a short one)."""
    await wf.sleep_for(seconds)  # "30 days" works the same way
    acts = wf.proxy_activities(activities=ACTIVITIES, task_queue="inventory-tasks")
    return f"{item_id} has {await acts.check_inventory(item_id)} in stock"


async def quote(items: list[str]) -> float:
    """Activities in parallel: asyncio.gather of durable calls (no size cap)."""
    acts = wf.proxy_activities(activities=ACTIVITIES, task_queue="inventory-tasks")
    prices = await asyncio.gather(*(acts.price(i) for i in items))
    return float(sum(prices))


async def order_with_quote(item_id: str, qty: int) -> dict[str, Any]:
    """Child workflows: start_child runs one alongside (its handle's result()
    waits for it later); exec_child runs one and waits for its result."""
    pricing = await wf.start_child(quote, args=[[item_id] * qty], task_queue="orders")
    outcome = await wf.exec_child(
        order_workflow, args=[item_id, qty], task_queue="orders"
    )
    return {"total": await pricing.result(), "outcome": outcome}


async def main(dsn: str | None = None) -> dict[str, Any]:
    conn = {"dsn": dsn or resolve_dsn(None)}
    activity_worker = await MemFlow.register_activity_worker(
        {"connection": conn, "task_queue": "inventory-tasks"}, ACTIVITIES
    )
    workers = [
        await MemFlow.Worker.create(
            {"connection": conn, "task_queue": "orders", "workflow": w}
        )
        for w in (order_workflow, remind_later, quote, order_with_quote)
    ]
    client = MemFlow.Client({"connection": conn})
    run = uuid.uuid4().hex[:8]
    try:

        async def run_one(name: str, args: list[Any]) -> Any:
            handle = await client.workflow.start(
                args=args,
                task_queue="orders",
                workflow_name=name,
                workflow_id=f"{name}-{run}-{args[0]}",
            )
            return await handle.result()

        results = {
            "reserved": await run_one("order_workflow", ["item-123", 5]),
            "backordered": await run_one("order_workflow", ["item-9", 1]),
            "reminder": await run_one("remind_later", ["item-123", 0.5]),
            "quote": await run_one("quote", [["item-123", "item-9", "item-123"]]),
            "with_quote": await run_one("order_with_quote", ["item-123", 2]),
        }
    finally:
        await client.close()
        for w in workers:
            await w.stop()
        await activity_worker.stop()
    for name, value in results.items():
        print(f"{name:12} {value}")
    return results


if __name__ == "__main__":
    asyncio.run(main())
