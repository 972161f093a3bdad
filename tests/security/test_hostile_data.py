"""Job data too large to enter a job (issue 20: a 31 MB ``pub`` held the event
loop 5.2 s). ``max_data_bytes`` refuses it after walking at most that much;
healthy jobs on the same engine keep flowing (latency printed with ``-s``)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hotmesh import HotMesh, errors
from tests.integration.conftest import MeshFactory
from tests.security.test_hostile_workers import GRAPH, good, healthy_jobs

LIMIT = 100_000


def big(message: dict[str, Any]) -> dict[str, Any]:
    """A worker whose answer is far over the limit."""
    return {"data": {"answer": ["x" * 20] * 50_000}}


async def _app(mesh: MeshFactory) -> HotMesh:
    hm = await mesh(
        "wk",
        workers=[
            {"topic": "bad.work", "callback": big, "retry": {"maximum_attempts": 1}},
            {"topic": "good.work", "callback": good},
        ],
        max_data_bytes=LIMIT,
    )
    await hm.deploy(GRAPH)
    await hm.activate("1")
    return hm


async def test_a_too_large_pub_is_refused_naming_the_limit(mesh: MeshFactory) -> None:
    hm = await _app(mesh)
    healthy = healthy_jobs(hm)
    huge = {"big": [f"s{i:09d}-abc" for i in range(2_000_000)]}  # 31 MB as JSON
    took = []
    for publish in (hm.pub, hm.pubsub):
        began = time.perf_counter()
        with pytest.raises(errors.InputValidationError) as raised:
            await publish("good.go", huge)
        took.append(time.perf_counter() - began)
        message = str(raised.value)
        assert "input for 'good.go' is invalid at /: too large: at least" in message
        assert f"over the limit of {LIMIT:,} (engine option max_data_bytes)" in message
    with pytest.raises(errors.InputValidationError, match="max_data_bytes"):
        await hm.signal("good.go", {"note": "y" * (LIMIT + 1)})
    latencies = await healthy.stop("31 MB pubs refused: healthy jobs", at_least=5)
    assert len(latencies) >= 5
    # a job just under the limit still runs
    out = await hm.pubsub("good.go", {"n": 1, "pad": "z" * (LIMIT - 100)}, timeout=30)
    assert out["data"]["answer"] == 2
    print(
        f"31 MB pub refused in {took[0] * 1000:.2f} ms, pubsub in {took[1] * 1000:.2f} ms"
    )


async def test_a_too_large_worker_answer_fails_its_attempt(mesh: MeshFactory) -> None:
    hm = await _app(mesh)
    healthy = healthy_jobs(hm)
    with pytest.raises(errors.JobError) as raised:
        await hm.pubsub("bad.go", {}, timeout=30)
    text = str(raised.value)
    assert "invalid worker response at /data: too large" in text
    assert "max_data_bytes" in text
    latencies = await healthy.stop("too large worker answers: healthy jobs", at_least=5)
    assert len(latencies) >= 5
