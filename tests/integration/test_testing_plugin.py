"""hotmesh.testing: the fixtures users enable with ``pytest_plugins = ["hotmesh.testing"]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.store.postgres import PostgresStore
from hotmesh.testing import AppFactory, throwaway_database, with_database

ORDER = Path(__file__).resolve().parents[2] / "graphs" / "order.yaml"


def order_workers(stock: dict[str, int]) -> list[dict[str, Any]]:
    async def check(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"available": stock.get(message["data"]["itemId"], 0)}}

    def reserve(message: dict[str, Any]) -> dict[str, Any]:  # sync callbacks work too
        stock[message["data"]["itemId"]] -= message["data"]["qty"]
        return {"data": {"reservationId": "r-1"}}

    async def backorder(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"notified": True}}

    return [
        {"topic": "inventory.check", "callback": check},
        {"topic": "inventory.reserve", "callback": reserve},
        {"topic": "inventory.backorder", "callback": backorder},
    ]


async def test_hotmesh_app_deploys_activates_and_runs(hotmesh_app: AppFactory) -> None:
    stock = {"item-1": 3}
    hm = await hotmesh_app(ORDER, workers=order_workers(stock))
    assert hm.app_id == "orders"
    reserved = await hm.pubsub(
        "order.requested", {"orderId": "o-1", "itemId": "item-1", "requestedQty": 2}
    )
    assert reserved["data"]["status"] == "reserved"
    assert stock == {"item-1": 1}
    backordered = await hm.pubsub(
        "order.requested", {"orderId": "o-2", "itemId": "item-1", "requestedQty": 2}
    )
    assert backordered["data"]["status"] == "backordered"
    history = await hm.export("o-2")
    assert [a["name"] for a in history["activities"]][-1] == "notifyBackorder"


async def test_hotmesh_app_takes_yaml_text(hotmesh_app: AppFactory) -> None:
    hm = await hotmesh_app(
        "app:\n  id: tiny\n  version: '3'\n  graphs:\n"
        "    - subscribes: tiny.go\n      activities:\n"
        "        t1: { type: trigger, job: { maps: { ok: true } } }\n"
    )
    assert (await hm.pubsub("tiny.go", {}))["data"] == {"ok": True}


async def test_a_bad_manifest_fails_the_factory_with_its_location(
    hotmesh_app: AppFactory,
) -> None:
    broken = ORDER.parent / "invalid" / "23-transition-to-unknown.yaml"
    with pytest.raises(errors.ManifestError) as info:
        await hotmesh_app(broken)
    assert ":16:13:" in str(info.value)


async def test_hotmesh_dsn_is_a_fresh_database(hotmesh_dsn: str) -> None:
    store = await PostgresStore.open(hotmesh_dsn)
    try:
        assert await store.list_apps() == []
        assert await store.list_jobs(None, None, 10) == []
    finally:
        await store.close()


async def test_throwaway_database_is_dropped_after(hotmesh_server: str) -> None:
    async with throwaway_database(hotmesh_server, prefix="hm_tp_") as dsn:
        store = await PostgresStore.open(dsn)
        await store.close()
        name = dsn.rsplit("/", 1)[1].split("?")[0]
    with pytest.raises(errors.StoreUnavailableError, match="does not exist"):
        await PostgresStore.open(with_database(hotmesh_server, name))
