"""C4: calc v1 by path ($ref), await -> child graph -> worker, retry, timeout, scrub, sub, errors."""

from __future__ import annotations

import asyncio
import json
from functools import reduce
from pathlib import Path
from typing import Any

import pytest

from hotmesh import HotMesh, errors
from tests.integration.conftest import MeshFactory

OPS = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
}


class Calculator:
    """The ``calculation.execute`` stub; fails once with code 500 when asked."""

    def __init__(self, fail_first: bool = False, fail_code: int | None = None) -> None:
        self.fail_first = fail_first
        self.fail_code = fail_code
        self.calls = 0

    async def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.fail_code is not None:
            code = self.fail_code
            return {
                "status": "error",
                "code": code,
                "data": {"code": code, "message": "unrecoverable error"},
            }
        if self.fail_first and self.calls == 1:
            return {
                "status": "error",
                "code": 500,
                "data": {"code": 500, "message": "retry me"},
            }
        data = message["data"]
        values = json.loads(data["values"])
        result = reduce(OPS[data["operation"]], values)
        if isinstance(result, float) and result.is_integer():
            result = int(result)
        return {"data": {"result": result}}


async def _calc(mesh: MeshFactory, root: Path, worker: Calculator) -> HotMesh:
    hm = await mesh(
        "calc", workers=[{"topic": "calculation.execute", "callback": worker}]
    )
    await hm.deploy(root / "apps" / "calc" / "v1" / "hotmesh.yaml")
    await hm.activate("1")
    return hm


async def test_operations_with_yaml_retry(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    worker = Calculator(fail_first=True)
    hm = await _calc(mesh, conformance_apps, worker)
    out = await hm.pubsub("calculate", {"operation": "add", "values": "[1,2,3,4,5]"})
    assert out["data"]["result"] == 15
    assert worker.calls == 2  # the 500 was retried by the YAML policy
    cases = [
        ("subtract", "[5,4,3,2,1]", -5),
        ("multiply", "[5,4,3,2,1]", 120),
        ("divide", "[100,4,5]", 5),
    ]
    for op, values, expected in cases:
        out = await hm.pubsub("calculate", {"operation": op, "values": values})
        assert out["data"]["result"] == expected
    both = await asyncio.gather(
        hm.pubsub("calculate", {"operation": "divide", "values": "[200,4,5]"}),
        hm.pubsub("calculate", {"operation": "multiply", "values": "[10,10,10]"}),
    )
    assert [o["data"]["result"] for o in both] == [10, 1000]


async def test_timeout_then_state_is_readable(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _calc(mesh, conformance_apps, Calculator())
    with pytest.raises(errors.JobTimeoutError) as info:
        await hm.pubsub(
            "calculate", {"operation": "divide", "values": "[100,4,5]"}, timeout=0
        )
    job_id = info.value.job_id
    assert info.value.code == 504
    done = asyncio.Event()
    await hm.sub(f"calculated.{job_id}", lambda topic, job: done.set())
    if await hm.get_status(job_id) != 0:
        await asyncio.wait_for(done.wait(), 10)
    state = await hm.get_state("calculate", job_id)
    assert state["data"]["result"] == 5
    assert await hm.get_status(job_id) == 0


async def test_scrub(mesh: MeshFactory, conformance_apps: Path) -> None:
    hm = await _calc(mesh, conformance_apps, Calculator())
    out = await hm.pubsub("calculate", {"operation": "divide", "values": "[100,4,5]"})
    job_id = out["metadata"]["jid"]
    assert (await hm.get_state("calculate", job_id))["data"]["result"] == 5
    await hm.scrub(job_id)
    with pytest.raises(errors.JobNotFoundError):
        await hm.get_state("calculate", job_id)


async def test_subscription_and_export(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _calc(mesh, conformance_apps, Calculator())
    got: asyncio.Future[tuple[str, dict[str, Any]]] = (
        asyncio.get_running_loop().create_future()
    )
    job_id = await hm.pub("calculate", {"operation": "divide", "values": "[100,4,5]"})
    await hm.sub(
        f"calculated.{job_id}", lambda topic, job: got.set_result((topic, job))
    )
    topic, job = await asyncio.wait_for(got, 10)
    assert topic == "calculated"
    assert job["data"]["result"] == 5 and job["metadata"]["jid"] == job_id
    history = await hm.export(job_id)
    assert history["dependencies"] == []
    assert "calculate" in history["process"]["0"]
    names = {a["name"]: a for a in history["activities"]}
    assert set(names) == {"calculate", "operate"}
    assert names["operate"]["dimension"] == ",0,0"
    assert (
        isinstance(names["operate"]["input"], dict) and names["operate"]["started_at"]
    )
    assert names["operate"]["duration_ms"] is not None


async def test_error_propagates_from_child(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _calc(mesh, conformance_apps, Calculator(fail_code=403))
    with pytest.raises(errors.JobError) as info:
        await hm.pubsub("calculate", {"operation": "divide", "values": "[100,4,5]"})
    assert info.value.error == {
        "message": "unrecoverable error",
        "code": 403,
        "is_stream_error": True,
    }
    state = await hm.get_state("calculate", info.value.job_id)
    assert state["metadata"]["err"] == (
        '{"message":"unrecoverable error","code":403,"is_stream_error":true}'
    )
