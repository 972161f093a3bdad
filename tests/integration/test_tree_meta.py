"""C2 (tree v1-v5), C3 (tree v6-v8 job metadata) and C6 (awaiter: await true/false, 1 s sleep hook)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conformance import expected
from tests.integration.conftest import MeshFactory


async def test_tree_metadata(mesh: MeshFactory, conformance_apps: Path) -> None:
    hm = await mesh("tree")
    for version in ("6", "7", "8"):
        await hm.deploy(
            conformance_apps / "apps" / "tree" / f"v{version}" / "hotmesh.yaml"
        )
        await hm.activate(version)
        out = await hm.pubsub("spring", {})
        meta = out["metadata"]
        assert meta["js"] == 0 and meta["tpc"] == "spring" and meta["vrs"] == version
        assert meta["gid"] and meta["jid"]


async def test_awaiter(mesh: MeshFactory, conformance_apps: Path) -> None:
    hm = await mesh("awaiter")
    await hm.deploy(conformance_apps / "apps" / "awaiter" / "hotmesh.yaml")
    await hm.activate("1")
    default, awaited, severed = await asyncio.gather(
        hm.pubsub("awaiter.test", {}, timeout=10),
        hm.pubsub("awaiter.test", {"do_await": True}, timeout=10),
        hm.pubsub("awaiter.test", {"do_await": False}, timeout=10),
    )
    for out in (default, awaited):
        assert "child_job_id" not in out["data"]
        assert out["data"]["child_some_data"] is True
    assert (
        isinstance(severed["data"]["child_job_id"], str)
        and severed["data"]["child_job_id"]
    )
    assert "child_some_data" not in severed["data"]


async def summer(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"result": "11/29/2026, 1:00:00 AM"}}


async def test_tree_v1_to_v5(mesh: MeshFactory, conformance_apps: Path) -> None:
    hm = await mesh("tree", workers=[{"topic": "summer", "callback": summer}])
    table = expected("tree")
    for version, case in table["versions"].items():
        payload, height, strings = case["input"], case["height"], case["strings"]
        await hm.deploy(
            conformance_apps / "apps" / "tree" / f"v{version}" / "hotmesh.yaml"
        )
        await hm.activate(version)
        out = await hm.pubsub(table["topic"], payload)
        data = out["data"]
        assert data["seed"] == payload["seed"] and data["speed"] == payload["speed"]
        assert data["height"] == height, (version, data)
        extra = {k: v for k, v in data.items() if k not in ("seed", "speed", "height")}
        assert len(extra) == strings and all(
            isinstance(v, str) for v in extra.values()
        ), data
        if version == "1":
            assert (await hm.export(out["metadata"]["jid"]))["status"] == "0"
