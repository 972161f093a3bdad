"""HotMesh API edges: migrations under concurrency, duplicates, unknown topics, bad ids, DSNs."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh, errors
from hotmesh.graph import load_app
from hotmesh.store.sql import migrations
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: dup
  version: '1'
  graphs:
    - subscribes: dup.start
      expire: 60
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
          job:
            maps:
              id: '{$self.output.data.id}'
        h1:
          type: hook
          job:
            maps:
              seen: true
      transitions:
        t1:
          - to: h1
"""


async def test_concurrent_inits_migrate_once(pg_dsn: str) -> None:
    meshes = await asyncio.gather(
        *(
            HotMesh.init(app_id="many", engine={"connection": {"dsn": pg_dsn}})
            for _ in range(5)
        )
    )
    try:
        conn = await asyncpg.connect(pg_dsn)
        try:
            rows = await conn.fetch("SELECT version FROM hotmesh.migrations")
        finally:
            await conn.close()
        # every migration applied exactly once
        assert [r["version"] for r in rows] == [n for n, _ in migrations('"x"')]
    finally:
        await HotMesh.stop_all()
    assert all(m not in HotMesh._instances for m in meshes)


async def test_duplicate_job_id_and_reuse_of_text_manifest(mesh: MeshFactory) -> None:
    hm = await mesh("dup")
    await hm.deploy(APP)
    await hm.deploy(APP)  # same plan: a no-op
    await hm.activate("1")
    out = await hm.pubsub("dup.start", {"id": "order-1"})
    assert out["metadata"]["jid"] == "order-1"
    assert out["data"] == {"id": "order-1", "seen": True}
    with pytest.raises(errors.DuplicateJobError):
        await hm.pub("dup.start", {"id": "order-1"})
    with pytest.raises(errors.StoreConflictError, match="different plan"):
        await hm.deploy(APP.replace("seen: true", "seen: false"))


async def test_unknown_topic_version_and_bad_identifiers(mesh: MeshFactory) -> None:
    hm = await mesh("dup")
    with pytest.raises(errors.UnknownAppVersionError):
        await hm.pub("dup.start", {})
    with pytest.raises(errors.UnknownAppVersionError, match="'7'"):
        await hm.activate("7")
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.UnknownTopicError, match=r"no\.such\.topic"):
        await hm.pub("no.such.topic", {})
    with pytest.raises(errors.ConfigError):
        await hm.pub("bad topic; drop table", {})
    with pytest.raises(errors.ConfigError):
        await hm.get_status("x'; --")
    with pytest.raises(errors.ConfigError):
        await HotMesh.init(
            app_id="bad app!", engine={"connection": {"dsn": "postgresql://x"}}
        )
    with pytest.raises(errors.ConfigError):
        await mesh("dup", schema="Robert'); DROP")
    with pytest.raises(errors.JobNotFoundError):
        await hm.get_status("never-ran")


async def test_unreachable_database_masks_password() -> None:
    dsn = "postgresql://alice:s3cret@127.0.0.1:1/db"
    with pytest.raises(errors.StoreUnavailableError) as info:
        await HotMesh.init(app_id="x", engine={"connection": {"dsn": dsn}})
    assert "s3cret" not in str(info.value) and "127.0.0.1:1" in str(info.value)


async def test_sync_worker_and_fan_out_fan_in(mesh: MeshFactory) -> None:
    calls: list[str] = []

    def shout(message: dict[str, Any]) -> dict[str, Any]:  # sync: runs in a thread
        calls.append(message["metadata"]["aid"])
        return {"data": {"v": message["data"]["n"] * 2}}

    text = """
app:
  id: fan
  version: '1'
  graphs:
    - subscribes: fan.go
      activities:
        t:
          type: trigger
        w1: {type: worker, topic: shout, input: {maps: {n: 1}}, job: {maps: {a: '{$self.output.data.v}'}}}
        w2: {type: worker, topic: shout, input: {maps: {n: 2}}, job: {maps: {b: '{$self.output.data.v}'}}}
        w3: {type: worker, topic: shout, input: {maps: {n: 3}}, job: {maps: {c: '{$self.output.data.v}', 'list[2]': {'1': x}}}}
      transitions:
        t: [{to: w1}, {to: w2}, {to: w3}]
"""
    hm = await mesh("fan", workers=[{"topic": "shout", "callback": shout}])
    await hm.deploy(text)
    await hm.activate("1")
    outs = await asyncio.gather(*(hm.pubsub("fan.go", {}) for _ in range(10)))
    for out in outs:
        assert out["data"] == {"a": 2, "b": 4, "c": 6, "list": {"1": "x"}}
    assert sorted(set(calls)) == ["w1", "w2", "w3"] and len(calls) == 30


async def test_order_example_both_branches(mesh: MeshFactory) -> None:
    stock = {"item-1": 10, "item-2": 1}

    async def check(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"available": stock[message["data"]["itemId"]]}}

    async def reserve(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"reservationId": "r-" + message["data"]["orderId"]}}

    async def backorder(message: dict[str, Any]) -> dict[str, Any]:
        assert message["data"]["missing"] == 4
        return {"data": {}}

    hm = await mesh(
        "orders",
        workers=[
            {"topic": "inventory.check", "callback": check},
            {"topic": "inventory.reserve", "callback": reserve},
            {"topic": "inventory.backorder", "callback": backorder},
        ],
    )
    await hm.deploy("graphs/order.yaml")
    await hm.activate("1")
    ok = await hm.pubsub(
        "order.requested", {"orderId": "o1", "itemId": "item-1", "requestedQty": 5}
    )
    assert ok["data"] == {
        "orderId": "o1",
        "available": 10,
        "status": "reserved",
        "reservationId": "r-o1",
    }
    late = await hm.pubsub(
        "order.requested", {"orderId": "o2", "itemId": "item-2", "requestedQty": 5}
    )
    assert late["data"] == {"orderId": "o2", "available": 1, "status": "backordered"}


async def test_stop_finishes_in_flight_work_and_releases_claims(pg_dsn: str) -> None:
    entered = asyncio.Event()
    gate = asyncio.Event()

    async def slow(message: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        await asyncio.wait_for(gate.wait(), 10)
        return {"data": {"v": 1}}

    text = """
app:
  id: stopper
  version: '1'
  graphs:
    - subscribes: s.go
      expire: 60
      activities:
        t: {type: trigger}
        w: {type: worker, topic: s.slow, job: {maps: {v: '{$self.output.data.v}'}}}
      transitions:
        t: [{to: w}]
"""
    engine = {"connection": {"dsn": pg_dsn}}
    hm = await HotMesh.init(
        app_id="stopper", engine=engine, workers=[{"topic": "s.slow", "callback": slow}]
    )
    await hm.deploy(text)
    await hm.activate("1")
    job_id = await hm.pub("s.go", {})
    await asyncio.wait_for(entered.wait(), 10)
    stopping = asyncio.ensure_future(hm.stop())
    gate.set()
    await asyncio.wait_for(stopping, 10)
    reader = await HotMesh.init(app_id="stopper", engine=engine)
    try:
        state = await reader.get_state("s.go", job_id)
        assert state["metadata"]["js"] == 0 and state["data"] == {"v": 1}
        conn = await asyncpg.connect(pg_dsn)
        try:
            held = await conn.fetchval(
                "SELECT count(*) FROM hotmesh.messages WHERE reserved_by IS NOT NULL"
            )
        finally:
            await conn.close()
        assert held == 0
    finally:
        await reader.stop()


async def test_deploy_reports_manifest_problems_with_their_line(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("dup")
    broken = APP.replace("          type: hook\n", "          type: nonsense\n")
    with pytest.raises(errors.ManifestError) as info:
        await hm.deploy(broken)
    assert "<string>:17:11: unknown type 'nonsense'" in str(info.value)


@pytest.mark.parametrize("app_id", ["my_app", "orders.v2", "ns:app", "a", "-" * 256])
async def test_an_app_id_a_manifest_refuses_is_refused_at_init(app_id: str) -> None:
    """One rule for app ids (docs/reference/python-api.md and schema.md agree)."""
    with pytest.raises(errors.ConfigError) as caught:
        await HotMesh.init(app_id, engine={"connection": {"dsn": "postgresql://x"}})
    assert str(caught.value) == (
        f"invalid app id {app_id!r}: use 1-255 letters, digits and '-' (as a "
        "manifest's app.id); 'a' is reserved"
    )
    # the manifest schema refuses the same id (its pattern has no length cap)
    if len(app_id) <= 255:
        text = (
            f"app:\n  id: '{app_id}'\n  version: '1'\n  graphs:\n"
            "    - subscribes: x\n      activities: {t: {type: trigger}}\n"
        )
        with pytest.raises(errors.ManifestValidationError) as refused:
            load_app(text)
        assert [p.pointer for p in refused.value.problems] == ["/app/id"]


async def test_an_app_id_with_dashes_works_in_both(mesh: MeshFactory) -> None:
    hm = await mesh("my-app-2")
    await hm.deploy(APP.replace("id: dup", "id: my-app-2"))
    assert hm.app_id == "my-app-2"
