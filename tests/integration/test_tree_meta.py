"""C3 (tree v6-v8 job metadata) and C6 (awaiter: await true/false, 1 s sleep hook)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.conftest import MeshFactory


async def test_tree_metadata(mesh: MeshFactory, upstream_apps: Path) -> None:
    hm = await mesh("tree")
    for version in ("6", "7", "8"):
        await hm.deploy(
            upstream_apps / "apps" / "tree" / f"v{version}" / "hotmesh.yaml"
        )
        await hm.activate(version)
        out = await hm.pubsub("spring", {})
        meta = out["metadata"]
        assert meta["js"] == 0 and meta["tpc"] == "spring" and meta["vrs"] == version
        assert meta["gid"] and meta["jid"]


async def test_awaiter(mesh: MeshFactory, upstream_apps: Path) -> None:
    hm = await mesh("awaiter")
    await hm.deploy(upstream_apps / "apps" / "awaiter" / "hotmesh.yaml")
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
