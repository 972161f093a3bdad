"""Update-with-start (issue 19): one call starts the workflow when it is not
running and applies an update to it, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow


async def shopping_cart(owner: str) -> dict[str, Any]:
    """Items arrive by update (each returns the cart's size); checkout ends it."""
    items: list[str] = []
    state = {"done": False}

    def add_item(item: str) -> int:
        items.append(item)
        return len(items)

    def check_item(item: str) -> None:
        if not item:
            raise ValueError("an item has a name")

    def checkout() -> list[str]:
        state["done"] = True
        return items

    wf.set_update_handler("add_item", add_item, validator=check_item)
    wf.set_update_handler("checkout", checkout)
    await wf.wait_condition(lambda: state["done"])
    return {"owner": owner, "items": items}


def cart_of(owner: str) -> dict[str, Any]:
    """The start options of ``owner``'s cart."""
    return {
        "workflow_name": shopping_cart,
        "args": [owner],
        "task_queue": "ws",
        "workflow_id": f"cart-{owner}",
    }


async def test_the_first_call_starts_the_workflow_later_ones_update_it(
    mf: Env,
) -> None:
    await mf.worker("ws", shopping_cart)
    workflows = mf.client.workflow
    size = await workflows.execute_update_with_start(
        "add_item", "apple", **cart_of("ann")
    )
    assert size == 1  # started, then updated
    size = await workflows.execute_update_with_start(
        "add_item", "pear", **cart_of("ann")
    )
    assert size == 2  # the same workflow, updated
    sent = await workflows.start_update_with_start(
        "add_item", "fig", update_id="fig-1", **cart_of("ann")
    )
    assert sent.workflow_id == "cart-ann" and await sent.result(15) == 3
    again = await workflows.start_update_with_start(
        "add_item", "fig", update_id="fig-1", **cart_of("ann")
    )
    assert await again.result(15) == 3  # the same update id: applied once
    handle = workflows.get_handle("ws", "shopping_cart", "cart-ann")
    assert await handle.execute_update("checkout") == ["apple", "pear", "fig"]
    out = await asyncio.wait_for(handle.result(), 15)
    assert out == {"owner": "ann", "items": ["apple", "pear", "fig"]}


async def test_a_refused_update_leaves_the_started_workflow(mf: Env) -> None:
    await mf.worker("ws", shopping_cart)
    workflows = mf.client.workflow
    with pytest.raises(errors.UpdateRejectedError, match="an item has a name"):
        await workflows.execute_update_with_start("add_item", "", **cart_of("bo"))
    handle = workflows.get_handle("ws", "shopping_cart", "cart-bo")
    assert (await handle.describe())["status"] == "running"
    assert await handle.execute_update("add_item", "plum") == 1


async def test_update_with_start_needs_a_workflow_id(mf: Env) -> None:
    start = cart_of("cy")
    del start["workflow_id"]
    with pytest.raises(errors.ConfigError, match="workflow_id"):
        await mf.client.workflow.execute_update_with_start("add_item", "x", **start)
