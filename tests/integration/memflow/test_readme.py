"""The README's MemFlow patterns, on real PostgreSQL."""

from __future__ import annotations

import asyncio

from hotmesh import MemFlow
from tests.integration.memflow import activities
from tests.integration.memflow.conftest import Env

RETRY = {
    "maximum_attempts": 3,
    "backoff_coefficient": 2,
    "initial_interval": "1s",
    "maximum_interval": "30s",
}


async def order_workflow(item_id: str, qty: int) -> str:
    acts = MemFlow.workflow.proxy_activities(
        activities=activities, task_queue="inventory-tasks", retry_policy=RETRY
    )
    available = await acts.check_inventory(item_id)
    if available >= qty:
        return str(await acts.reserve_item(item_id, qty))
    await acts.notify_backorder(item_id)
    return "backordered"


async def test_order_workflow(mf: Env) -> None:
    await mf.activities("inventory-tasks", activities)
    await mf.worker("orders", order_workflow)
    handle = await mf.client.workflow.start(
        args=["item-123", 5],
        task_queue="orders",
        workflow_name="order_workflow",
        workflow_id="order-456",
    )
    assert handle.workflow_id == "order-456"
    assert await asyncio.wait_for(handle.result(), 10) == "reserved 5 of item-123"
    other = await mf.client.workflow.start(
        args=["item-9", 1], task_queue="orders", workflow_name="order_workflow"
    )
    assert await asyncio.wait_for(other.result(), 10) == "backordered"
    assert activities.CALLS == {
        "check_inventory": 2,
        "reserve_item": 1,
        "notify_backorder": 1,
    }
