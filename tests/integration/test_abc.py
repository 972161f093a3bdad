"""C1: the abc quickstart ladder v1..v9 deployed in order on one app (hot redeploy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    expected: dict[int, list[tuple[dict[str, Any], dict[str, Any] | None]]] = {
        1: [({}, None)],
        2: [({}, None)],
        3: [({}, None)],
        4: [({}, None)],
        5: [({"a": "hello"}, {"b": "hello world"})],
        6: [({"a": "hello"}, {"b": "hello world", "c": "hello world"})],
        7: [({"a": "hello"}, {"b": "hello world", "c": "hello world world"})],
        8: [({"a": "hello"}, {"b": "hello world"})],
        9: [
            ({"a": "hello"}, {"b": "hello world", "c": "hello world world"}),
            ({"a": "goodbye"}, None),
            ({"a": "help"}, {"b": "help world"}),
            ({"a": "bye"}, None),
        ],
    }
    for version in versions:
        await hm.deploy(
            conformance_apps / "apps" / "abc" / f"v{version}" / "hotmesh.yaml"
        )
        await hm.activate(str(version))
        for payload, data in expected[version]:
            out = await hm.pubsub("abc.test", payload, timeout=10)
            meta = out["metadata"]
            assert meta["jid"] and meta["js"] == 0 and meta["vrs"] == str(version)
            assert out.get("data") == data, (version, payload, out)


async def test_abc_v1_to_v8(mesh: MeshFactory, conformance_apps: Path) -> None:
    await _ladder(mesh, conformance_apps, range(1, 9))


async def test_abc_v1_to_v9(mesh: MeshFactory, conformance_apps: Path) -> None:
    await _ladder(mesh, conformance_apps, range(1, 10))
