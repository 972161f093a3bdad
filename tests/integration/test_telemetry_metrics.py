"""OpenTelemetry metrics (issue 18), read with the SDK's InMemoryMetricReader:
counters that match the jobs run, histograms, and the observable gauges read
from the database (backlog per topic, jobs per status)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from hotmesh import errors, telemetry
from hotmesh.telemetry import gauges
from tests.integration.conftest import MeshFactory
from tests.integration.otel_spans import metric_reader, points

APP = """
app:
  id: otelq
  version: '1'
  graphs:
    - subscribes: q.go
      publishes: q.done
      expire: 60
      activities:
        t: {type: trigger}
        w:
          type: worker
          topic: q.work
          input: {maps: {n: '{t.output.data.n}'}}
      transitions:
        t: [{to: w}]
    - subscribes: q.nap
      expire: 60
      activities:
        tn: {type: trigger}
        nap: {type: hook, sleep: 1}
      transitions:
        tn: [{to: nap}]
    - subscribes: q.hold
      expire: 60
      activities:
        th: {type: trigger}
        held: {type: hook}
      transitions:
        th: [{to: held}]
      hooks:
        q.release:
          - to: held
            conditions:
              match: [{expected: '{th.output.data.key}', actual: '{$self.hook.data.key}'}]
"""


def mine(name: str, app: str = "otelq") -> list[Any]:
    """The data points of metric ``name`` for app ``app``, collected now."""
    found = points(metric_reader()).get(name, [])
    return [p for p in found if dict(p.attributes).get("hotmesh.app") == app]


def total(name: str, **attrs: str) -> float:
    """Sum of the counter (or histogram count) points matching ``attrs``."""
    out = 0.0
    for point in mine(name):
        have = dict(point.attributes)
        if all(have.get(f"hotmesh.{k}") == v for k, v in attrs.items()):
            out += getattr(point, "value", None) or getattr(point, "count", 0)
    return out


@pytest.fixture
def reader() -> Any:
    found = metric_reader()
    telemetry.refresh()
    return found


async def test_counters_and_histograms_match_the_jobs_run(
    mesh: MeshFactory, reader: Any
) -> None:
    async def work(message: dict[str, Any]) -> dict[str, Any]:
        n = message["data"]["n"]
        if n < 0:
            return {"status": "error", "code": 503, "data": {"message": "down"}}
        return {"data": {"n": n}}

    policy = {"maximum_attempts": 2, "initial_interval": 0.05}
    hm = await mesh(
        "otelq", workers=[{"topic": "q.work", "callback": work, "retry": policy}]
    )
    await hm.deploy(APP)
    await hm.activate("1")
    before = {
        name: total(name)
        for name in (
            "hotmesh.jobs.started",
            "hotmesh.jobs.failed",
            "hotmesh.retries",
            "hotmesh.worker.duration",
            "hotmesh.timer.lateness",
            "hotmesh.signals.delivered",
            "hotmesh.signals.early",
        )
    }
    for n in (1, 2):
        await hm.pubsub("q.go", {"n": n}, timeout=30)
    with pytest.raises(errors.JobError):
        await hm.pubsub("q.go", {"n": -1}, timeout=30)  # tried twice, then fails
    await hm.pubsub("q.nap", {}, timeout=30)  # a timer
    # a signal that comes before its hook waits (kept), then one that resumes it
    await hm.signal("q.release", {"key": "k1"}, keep=True)
    await hm.pubsub("q.hold", {"key": "k1"}, timeout=30)

    def delta(name: str) -> float:
        return total(name) - before[name]

    assert delta("hotmesh.jobs.started") == 5
    assert delta("hotmesh.jobs.failed") == 1
    assert total("hotmesh.jobs.failed", **{"job.code": "503"}) >= 1
    assert delta("hotmesh.retries") == 1
    assert delta("hotmesh.worker.duration") == 4  # 2 + 2 attempts of the failure
    assert delta("hotmesh.timer.lateness") == 1
    assert delta("hotmesh.signals.early") == 1
    assert delta("hotmesh.signals.delivered") == 1  # when its hook began waiting
    lateness = [p for p in mine("hotmesh.timer.lateness")]
    assert lateness and all(p.min >= 0 for p in lateness)


async def test_the_backlog_gauge_rises_without_a_worker_and_drains_with_one(
    mesh: MeshFactory, reader: Any
) -> None:
    hm = await mesh("otelq")  # nobody serves q.work yet
    await hm.deploy(APP)
    await hm.activate("1")
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.sub("q.done", lambda topic, out: done.put_nowait(out))
    for n in range(3):
        await hm.pub("q.go", {"n": n})
    await gauges.read_all()
    ready = {
        dict(p.attributes)["hotmesh.topic"]: p.value
        for p in mine("hotmesh.messages.ready")
    }
    assert ready["q.work"] == 3
    ages = {
        dict(p.attributes)["hotmesh.topic"]: p.value
        for p in mine("hotmesh.messages.oldest_age")
    }
    assert ages["q.work"] >= 0
    jobs = {
        dict(p.attributes)["hotmesh.job.status"]: p.value
        for p in mine("hotmesh.jobs.status")
    }
    assert jobs["running"] == 3 and jobs["done"] == 0
    # scrapes in a row serve the last read: no read per scrape
    [watch] = [w for w in gauges._WATCHES if w.app == "otelq"]
    reads = watch.reads
    mine("hotmesh.messages.ready")
    mine("hotmesh.jobs.status")
    await asyncio.sleep(0)
    assert watch.reads == reads

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {}}

    hm.add_worker({"topic": "q.work", "callback": work})
    for _ in range(3):
        await asyncio.wait_for(done.get(), 30)
    await gauges.read_all()
    ready = {
        dict(p.attributes)["hotmesh.topic"]: p.value
        for p in mine("hotmesh.messages.ready")
    }
    assert ready["q.work"] == 0  # drained: reported as 0, not left out
    jobs = {
        dict(p.attributes)["hotmesh.job.status"]: p.value
        for p in mine("hotmesh.jobs.status")
    }
    assert jobs["running"] == 0 and jobs["done"] == 3


async def test_a_lapsed_claim_is_counted_reclaimed_and_a_poison_message(
    mesh: MeshFactory, reader: Any, pg_dsn: str
) -> None:
    hm = await mesh("otelq", poison_threshold=2)
    await hm.deploy(APP)
    await hm.activate("1")
    first = await hm.pub("q.go", {"n": 1})
    second = await hm.pub("q.go", {"n": 2})
    conn = await asyncpg.connect(pg_dsn)
    try:
        # as a process that died holding the claims would leave them: lapsed,
        # the first claimed once, the second claimed twice already
        for job_id, attempts in ((first, 1), (second, 2)):
            await conn.execute(
                "UPDATE hotmesh.messages SET reserved_by = 'gone', attempts = $2,"
                " reserved_until = now() - interval '1 second'"
                " WHERE stream = 'w:q.work' AND job_id = $1",
                job_id,
                attempts,
            )
    finally:
        await conn.close()
    reclaimed = total("hotmesh.claims.reclaimed", topic="q.work")
    poison = total("hotmesh.messages.poison", topic="q.work")
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.sub("q.done", lambda topic, out: done.put_nowait(out))

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {}}

    hm.add_worker({"topic": "q.work", "callback": work})
    outs = [await asyncio.wait_for(done.get(), 30) for _ in range(2)]
    failed = [o for o in outs if o["metadata"].get("err")]
    assert [o["metadata"]["jid"] for o in failed] == [second]  # claimed a 3rd time
    assert total("hotmesh.claims.reclaimed", topic="q.work") - reclaimed == 2
    assert total("hotmesh.messages.poison", topic="q.work") - poison == 1
