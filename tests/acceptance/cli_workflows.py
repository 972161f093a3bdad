"""A workflow with handlers that the `hotmesh workflow` tests run in a worker process."""

from __future__ import annotations

from typing import Any

from hotmesh import MemFlow

wf = MemFlow.workflow


async def approvals(needed: int) -> dict[str, Any]:
    """Waits until ``needed`` approvals came by signal; the quantity changes by update."""
    state: dict[str, Any] = {"approved": [], "qty": 1}

    def approve(by: str) -> None:
        state["approved"].append(by)

    def check_qty(qty: int) -> None:
        if qty <= 0:
            raise ValueError(f"qty must be positive, not {qty}")

    def change_qty(qty: int) -> int:
        old, state["qty"] = state["qty"], qty
        return int(old)

    wf.set_signal_handler("approve", approve)
    wf.set_query_handler("status", lambda: dict(state))
    wf.set_update_handler("change_qty", change_qty, validator=check_qty)
    await wf.wait_condition(lambda: len(state["approved"]) >= needed)
    return state
