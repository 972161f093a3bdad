"""OpenTelemetry (issue 18): the manifest's ``telemetry`` maps as span
attributes, and span events for retries, timeouts, interrupts and escalations."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace

from hotmesh import errors, telemetry
from hotmesh.engine import spans as span_notes
from tests.integration.conftest import MeshFactory
from tests.integration.otel_spans import MEMORY, SWITCH, install

APP = """
app:
  id: otelx
  version: '1'
  graphs:
    - subscribes: x.go
      expire: 60
      activities:
        t:
          type: trigger
          telemetry: {x.kind: order}
        w:
          type: worker
          topic: x.work
          input: {maps: {id: '{t.output.data.id}'}}
          telemetry:
            order.id: '{t.output.data.id}'
            order.count: '{t.output.data.count}'
            order.items: '{t.output.data.items}'
            order.big: '{t.output.data.big}'
            order.paid: '{$self.output.data.paid}'
            order.bad: {'@pipe': [['{t.output.data.id}'], ['{@json.parse}']]}
            order.missing: '{t.output.data.nothing}'
      transitions:
        t: [{to: w}]
    - subscribes: x.wait
      expire: 60
      activities:
        tw: {type: trigger}
        approval:
          type: hook
          sleep: 1
          escalation: {role: approver}
      transitions:
        tw: [{to: approval}]
      hooks:
        x.approve:
          - to: approval
            conditions:
              match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]
    - subscribes: x.hold
      publishes: x.held
      expire: 60
      activities:
        th: {type: trigger}
        held: {type: hook}
      transitions:
        th: [{to: held}]
      hooks:
        x.release:
          - to: held
            conditions:
              match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]
    - subscribes: x.stop
      expire: 60
      activities:
        ts: {type: trigger}
        halt: {type: interrupt, reason: enough}
      transitions:
        ts: [{to: halt}]
    - subscribes: x.retry
      expire: 60
      activities:
        tr: {type: trigger}
        r: {type: worker, topic: x.flaky}
      transitions:
        tr: [{to: r}]
    - subscribes: x.slow
      expire: 60
      activities:
        tl: {type: trigger}
        s: {type: worker, topic: x.slow}
      transitions:
        tl: [{to: s}]
"""


@pytest.fixture
def spans() -> Iterator[None]:
    install(MEMORY)
    telemetry.refresh()
    MEMORY.clear()
    SWITCH.on = True
    yield
    SWITCH.on = False
    MEMORY.clear()


def by_name(job_id: str) -> dict[str, Any]:
    """The finished spans of one job, by name (each name once)."""
    out: dict[str, Any] = {}
    for span in MEMORY.get_finished_spans():
        attrs = span.attributes or {}
        if attrs.get("hotmesh.job_id") == job_id:
            assert span.name not in out, f"{span.name} twice"
            out[span.name] = span
    return out


async def _paid(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"paid": True}}


async def test_telemetry_maps_become_span_attributes(
    mesh: MeshFactory, spans: None, caplog: pytest.LogCaptureFixture
) -> None:
    hm = await mesh("otelx", workers=[{"topic": "x.work", "callback": _paid}])
    await hm.deploy(APP)
    await hm.activate("1")
    order = {"id": "o-1", "count": 3, "items": [{"sku": "a"}, 2], "big": "x" * 5000}
    with caplog.at_level(logging.WARNING, logger="hotmesh.engine.telemetry"):
        out = await hm.pubsub("x.go", order, timeout=30)
    found = by_name(out["metadata"]["jid"])
    w = found["w"].attributes
    assert w["order.id"] == "o-1" and w["order.count"] == 3
    assert w["order.paid"] is True  # the activity's own output is in reach
    assert json.loads(w["order.items"]) == [{"sku": "a"}, 2]  # non-scalar: JSON
    assert len(w["order.big"]) == span_notes.MAX_VALUE  # capped
    assert "order.bad" not in w and "order.missing" not in w
    assert w["hotmesh.activity.id"] == "w"  # ours are kept alongside
    assert found["t"].attributes["x.kind"] == "order"
    told = [r for r in caplog.records if r.name == "hotmesh.engine.telemetry"]
    assert len(told) == 1  # one line for the failing map, the job went on
    assert "order.bad" in told[0].getMessage()
    assert out["metadata"].get("err") is None


async def test_an_untraced_job_evaluates_no_telemetry(
    mesh: MeshFactory, spans: None, caplog: pytest.LogCaptureFixture
) -> None:
    SWITCH.on = False  # sampled out: the job carries no trace
    hm = await mesh("otelx", workers=[{"topic": "x.work", "callback": _paid}])
    await hm.deploy(APP)
    await hm.activate("1")
    with caplog.at_level(logging.WARNING, logger="hotmesh.engine.telemetry"):
        out = await hm.pubsub("x.go", {"id": "o-2"}, timeout=30)
    assert "trc" not in out["metadata"]
    assert not [r for r in caplog.records if r.name == "hotmesh.engine.telemetry"]
    assert by_name(out["metadata"]["jid"]) == {}


def _events(span: Any) -> dict[str, dict[str, Any]]:
    return {e.name: dict(e.attributes or {}) for e in span.events}


async def test_a_timed_out_escalated_hook_has_both_events(
    mesh: MeshFactory, spans: None
) -> None:
    hm = await mesh("otelx")
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("x.wait", {}, timeout=30)  # no signal: the hook times out
    jid = out["metadata"]["jid"]
    approval = by_name(jid)["approval"]
    events = _events(approval)
    key = f"x.approve:{jid}"
    assert events["hotmesh.escalation"] == {"hotmesh.signal.key": key}
    assert events["hotmesh.timeout"] == {"hotmesh.signal.key": key}
    opened = next(e for e in approval.events if e.name == "hotmesh.escalation")
    assert opened.timestamp // 1_000_000 == approval.start_time // 1_000_000


async def test_an_interrupted_job_has_the_event_error_status_and_code(
    mesh: MeshFactory, spans: None
) -> None:
    hm = await mesh("otelx")
    await hm.deploy(APP)
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test"):
        with pytest.raises(errors.JobError) as failed:
            await hm.pubsub("x.stop", {}, timeout=30)
    found = by_name(failed.value.job_id)
    assert _events(found["halt"])["hotmesh.interrupt"] == {
        "hotmesh.interrupt.target": "",  # this job
        "hotmesh.interrupt.reason": "enough",
    }
    job = found["job x.stop"]
    assert job.status.status_code is trace.StatusCode.ERROR
    assert job.attributes["hotmesh.job.error_code"] == "410"
    assert _events(job)["hotmesh.interrupted"] == {"hotmesh.interrupt.reason": "enough"}


async def test_a_retry_is_an_event_of_the_failed_attempts_worker_span(
    mesh: MeshFactory, spans: None
) -> None:
    calls: list[int] = []

    async def flaky(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            return {"status": "error", "code": 503, "data": {"message": "down"}}
        return {"data": {"ok": True}}

    policy = {"maximum_attempts": 2, "initial_interval": 0.05}
    hm = await mesh(
        "otelx", workers=[{"topic": "x.flaky", "callback": flaky, "retry": policy}]
    )
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("x.retry", {}, timeout=30)
    jid = out["metadata"]["jid"]
    workers = [
        s
        for s in MEMORY.get_finished_spans()
        if s.name == "worker x.flaky" and s.attributes["hotmesh.job_id"] == jid
    ]
    workers.sort(key=lambda s: s.attributes["hotmesh.activity.attempt"])
    assert [s.attributes["hotmesh.activity.attempt"] for s in workers] == [1, 2]
    first, second = workers
    assert first.status.status_code is trace.StatusCode.ERROR
    retry = _events(first)["hotmesh.retry"]
    assert retry["hotmesh.activity.attempt"] == 2
    assert retry["hotmesh.activity.error_code"] == "503"
    assert retry["hotmesh.retry.delay"] == pytest.approx(0.05)
    assert "hotmesh.retry" not in _events(second)
    assert second.status.status_code is not trace.StatusCode.ERROR


async def test_a_callback_timeout_is_an_event_and_fails_the_span(
    mesh: MeshFactory, spans: None
) -> None:
    never = asyncio.Event()

    async def stuck(message: dict[str, Any]) -> dict[str, Any]:
        await never.wait()
        return {}

    hm = await mesh(
        "otelx", workers=[{"topic": "x.slow", "callback": stuck, "timeout": 0.5}]
    )
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobError) as failed:
        await hm.pubsub("x.slow", {}, timeout=30)
    found = by_name(failed.value.job_id)
    worker = found["worker x.slow"]
    assert "hotmesh.timeout" in _events(worker)
    assert worker.status.status_code is trace.StatusCode.ERROR
    assert worker.attributes["hotmesh.activity.error_code"] == "500"
    assert found["s"].status.status_code is trace.StatusCode.ERROR
    assert found["job x.slow"].attributes["hotmesh.job.error_code"] == "500"


async def test_a_hooks_span_links_to_the_signals_sender(
    mesh: MeshFactory, spans: None
) -> None:
    hm = await mesh("otelx")
    await hm.deploy(APP)
    await hm.activate("1")
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.sub("x.held", lambda topic, out: done.put_nowait(out))
    jid = await hm.pub("x.hold", {})  # its first step (the hook waits) is committed
    with trace.get_tracer("tests").start_as_current_span("sender") as sender:
        await hm.signal("x.release", {"id": jid})
    out = await asyncio.wait_for(done.get(), 30)
    assert out["metadata"]["jid"] == jid
    held = by_name(jid)["held"]
    assert [link.context.span_id for link in held.links] == [
        sender.get_span_context().span_id
    ]
