"""C1: the abc ladder v1..v9 deployed in order on one app (hot redeploy); expected.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conformance import expected
from tests.integration.conftest import MeshFactory


async def work_do(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"y": f"{message['data'].get('x')} world"}}


async def work_do_more(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"o": f"{message['data'].get('i')} world"}}


WORKERS = [
    {"topic": "work.do", "callback": work_do},
    {"topic": "work.do.more", "callback": work_do_more},
]


async def _ladder(mesh: MeshFactory, conformance_apps: Path, versions: range) -> None:
    hm = await mesh("abc", workers=WORKERS)
    table = expected("abc")
    for version in versions:
        await hm.deploy(
            conformance_apps / "apps" / "abc" / f"v{version}" / "hotmesh.yaml"
        )
        await hm.activate(str(version))
        for case in table["versions"][str(version)]:
            out = await hm.pubsub(table["topic"], case["input"], timeout=10)
            meta = out["metadata"]
            assert meta["jid"] and meta["js"] == 0 and meta["vrs"] == str(version)
            assert out.get("data") == case["data"], (version, case, out)


async def test_abc_v1_to_v8(mesh: MeshFactory, conformance_apps: Path) -> None:
    await _ladder(mesh, conformance_apps, range(1, 9))


async def test_abc_v1_to_v9(mesh: MeshFactory, conformance_apps: Path) -> None:
    await _ladder(mesh, conformance_apps, range(1, 10))
