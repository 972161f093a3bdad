"""Run the README's order workflow: graphs/order.yaml with three Python workers.

    python examples/order.py

Uses DATABASE_URL / HOTMESH_DSN when set, otherwise a private embedded
PostgreSQL. Runs one order that can be reserved and one that is back-ordered.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from hotmesh import HotMesh

STOCK = {"item-123": 10, "item-456": 1}
MANIFEST = Path(__file__).resolve().parents[1] / "graphs" / "order.yaml"


async def check_inventory(message: dict[str, Any]) -> dict[str, Any]:
    item = message["data"]["itemId"]
    return {"data": {"available": STOCK.get(item, 0)}}


async def reserve_item(message: dict[str, Any]) -> dict[str, Any]:
    data = message["data"]
    STOCK[data["itemId"]] -= data["qty"]
    return {"data": {"reservationId": f"res-{data['orderId']}"}}


async def notify_backorder(message: dict[str, Any]) -> dict[str, Any]:
    data = message["data"]
    print(
        f"  (emailing the customer: {data['missing']} x {data['itemId']} back-ordered)"
    )
    return {"data": {"notified": True}}


async def main(dsn: str | None = None) -> list[dict[str, Any]]:
    async with HotMesh.init(  # stopped when the block ends
        app_id="orders",
        dsn=dsn,  # None: HOTMESH_DSN, DATABASE_URL, else the embedded server
        workers=[
            {"topic": "inventory.check", "callback": check_inventory},
            {"topic": "inventory.reserve", "callback": reserve_item},
            {"topic": "inventory.backorder", "callback": notify_backorder},
        ],
    ) as hm:
        await hm.deploy(MANIFEST)
        await hm.activate("1")
        results = []
        for item, qty in (("item-123", 5), ("item-456", 5)):
            order_id = f"order-{uuid.uuid4().hex[:8]}"
            out = await hm.pubsub(
                "order.requested",
                {"orderId": order_id, "itemId": item, "requestedQty": qty},
                timeout=10,
            )
            print(f"{order_id}: {json.dumps(out['data'])}")
            results.append(out)
        return results


if __name__ == "__main__":
    asyncio.run(main())
