"""OpenTelemetry traces (issue 18): one trace per job, rooted at the caller's
span, with the job, activity and worker spans parented to the job span, in
one process and across two."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace

from hotmesh import errors, telemetry
from tests.integration.conftest import MeshFactory
from tests.integration.otel_spans import (
    APP,
    MEMORY,
    SWITCH,
    install,
    metric_reader,
    points,
    record,
)
from tests.nodes import start_node, stop_nodes


@pytest.fixture
def spans() -> Iterator[list[dict[str, Any]]]:
    install(MEMORY)
    telemetry.refresh()  # this process may have looked before the provider was set
    MEMORY.clear()
    SWITCH.on = True
    yield []
    SWITCH.on = False  # later tests in this process run untraced
    MEMORY.clear()


def collected() -> list[dict[str, Any]]:
    return [record(s) for s in MEMORY.get_finished_spans()]


def check_one_trace(found: list[dict[str, Any]], root: Any, job_id: str) -> None:
    """One trace under the test span: job span, then activities and worker."""
    ctx = root.get_span_context()
    trace_id = trace.format_trace_id(ctx.trace_id)
    mine = [s for s in found if s["trace"] == trace_id]
    names = Counter(s["name"] for s in mine)
    assert names == Counter(
        {"test": 1, "job otel.go": 1, "t": 1, "w": 1, "worker otel.work": 1}
    ), names  # nothing duplicated, nothing missing
    by_name = {s["name"]: s for s in mine}
    job = by_name["job otel.go"]
    assert job["parent"] == trace.format_span_id(ctx.span_id)
    assert job["attributes"]["hotmesh.job_id"] == job_id
    for name in ("t", "w", "worker otel.work"):
        assert by_name[name]["parent"] == job["span"], name
    w = by_name["w"]["attributes"]
    assert w["hotmesh.app"] == "otel" and w["hotmesh.version"] == "1"
    assert w["hotmesh.job_id"] == job_id and w["hotmesh.activity.type"] == "worker"
    assert w["hotmesh.activity.dimension"] == ",0,0"
    assert by_name["worker otel.work"]["attributes"]["hotmesh.activity.id"] == "w"
    # the job span covers its activities (their times are the engine's stamps,
    # to the millisecond)
    ms = 1_000_000
    assert job["start"] // ms <= by_name["t"]["start"] // ms
    assert job["end"] // ms >= by_name["w"]["end"] // ms


async def test_a_job_is_one_trace_under_the_callers_span(
    mesh: MeshFactory, spans: list[dict[str, Any]]
) -> None:
    async def work(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"n": message["data"]["n"] * 2}}

    hm = await mesh("otel", workers=[{"topic": "otel.work", "callback": work}])
    await hm.deploy(APP)
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test") as root:
        out = await hm.pubsub("otel.go", {"n": 2}, timeout=10)
    assert out["data"] == {"n": 4}
    check_one_trace(collected(), root, out["metadata"]["jid"])
    assert "trc" in out["metadata"] and "spn" in out["metadata"]


async def test_a_failed_job_has_error_spans_with_the_code(
    mesh: MeshFactory, spans: list[dict[str, Any]]
) -> None:
    async def work(message: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    hm = await mesh("otel", workers=[{"topic": "otel.work", "callback": work}])
    await hm.deploy(APP)
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test"):
        with pytest.raises(errors.JobError) as failed:
            await hm.pubsub("otel.go", {"n": 2}, timeout=10)
    by_name = {s["name"]: s for s in collected()}
    assert by_name["job otel.go"]["status"] == "ERROR"
    assert by_name["worker otel.work"]["status"] == "ERROR"
    assert by_name["w"]["status"] == "ERROR"
    assert by_name["w"]["attributes"]["hotmesh.activity.error_code"] == "500"
    assert by_name["job otel.go"]["attributes"]["hotmesh.job_id"] == failed.value.job_id


async def test_a_job_started_without_a_caller_span_is_its_own_root(
    mesh: MeshFactory, spans: list[dict[str, Any]]
) -> None:
    hm = await mesh("otel", workers=[{"topic": "otel.work", "callback": _echo}])
    await hm.deploy(APP)
    await hm.activate("1")
    job_id = await hm.pub("otel.go", {"n": 1})
    out = await hm.pubsub("otel.go", {"n": 1}, timeout=10)
    jobs = [s for s in collected() if s["name"] == "job otel.go"]
    assert {s["attributes"]["hotmesh.job_id"] for s in jobs} >= {out["metadata"]["jid"]}
    assert all(s["parent"] is None for s in jobs)
    assert job_id  # the pub's job span ends when its completion is heard


async def _echo(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"n": message["data"]["n"]}}


async def test_the_trace_continues_in_a_worker_process(
    mesh: MeshFactory, spans: list[dict[str, Any]], pg_dsn: str, tmp_path: Path
) -> None:
    hm = await mesh("otel")  # no worker here: the node runs it
    await hm.deploy(APP)
    await hm.activate("1")
    spans_file = tmp_path / "node-spans.jsonl"
    procs: list[Any] = []
    try:
        await start_node(procs, "tests.integration.otel_node", pg_dsn, str(spans_file))
        with trace.get_tracer("tests").start_as_current_span("test") as root:
            out = await hm.pubsub("otel.go", {"n": 5}, timeout=20)
    finally:
        await stop_nodes(procs, grace=10)
    assert out["data"] == {"n": 10}
    remote = [json.loads(line) for line in spans_file.read_text().splitlines()]
    assert any(s["name"] == "worker otel.work" for s in remote)  # ran over there
    check_one_trace(collected() + remote, root, out["metadata"]["jid"])


def test_without_the_api_or_an_sdk_nothing_is_traced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(telemetry, "trace", None)
    monkeypatch.setattr(telemetry, "_ON", False)
    assert not telemetry.enabled()
    assert telemetry.start_job("a", "t", "me") is None
    with telemetry.worker_span("t", {"trc": "1" * 32, "spn": "2" * 16}) as span:
        assert span is None


FAMILY = """
app:
  id: otelkids
  version: '1'
  graphs:
    - subscribes: kids.parent
      activities:
        p: {type: trigger}
        a: {type: await, topic: kids.child, input: {maps: {n: 1}}}
      transitions:
        p: [{to: a}]
    - subscribes: kids.child
      activities:
        c: {type: trigger, job: {maps: {n: '{$self.output.data.n}'}}}
"""


async def test_a_child_job_joins_its_parents_trace(
    mesh: MeshFactory, spans: list[dict[str, Any]]
) -> None:
    hm = await mesh("otelkids")
    await hm.deploy(FAMILY)
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test") as root:
        await hm.pubsub("kids.parent", {}, timeout=10)
    trace_id = trace.format_trace_id(root.get_span_context().trace_id)
    mine = {s["name"]: s for s in collected() if s["trace"] == trace_id}
    assert {"test", "job kids.parent", "p", "a", "job kids.child", "c"} <= set(mine)
    job, child = mine["job kids.parent"]["span"], mine["job kids.child"]
    assert child["parent"] == job  # the child's own span, under its parent's
    assert mine["c"]["parent"] == child["span"]  # the child's trigger, under it
    assert (
        mine["c"]["attributes"]["hotmesh.job_id"]
        != mine["p"]["attributes"]["hotmesh.job_id"]
    )


async def test_a_deduplicated_pub_ends_its_span_at_once(
    mesh: MeshFactory, spans: list[dict[str, Any]]
) -> None:
    hm = await mesh("otel", workers=[{"topic": "otel.work", "callback": _echo}])
    await hm.deploy(APP)
    await hm.activate("1")
    first = await hm.pub("otel.go", {"n": 1}, dedupe_key="k")
    again = await hm.pub("otel.go", {"n": 1}, dedupe_key="k")
    assert again == first
    dropped = [
        s
        for s in collected()
        if s["name"] == "job otel.go" and s["attributes"]["hotmesh.job_id"] != first
    ]
    assert len(dropped) == 1 and dropped[0]["status"] == "ERROR"
    assert dropped[0]["attributes"]["hotmesh.job_id"] not in telemetry._OPEN


async def test_metrics_count_the_jobs_run(mesh: MeshFactory) -> None:
    reader = metric_reader()
    telemetry.refresh()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        if message["data"]["n"] < 0:
            raise RuntimeError("negative")
        return {"data": {"n": message["data"]["n"]}}

    hm = await mesh("otelm", workers=[{"topic": "otel.work", "callback": work}])
    await hm.deploy(APP.replace("id: otel", "id: otelm"))
    await hm.activate("1")
    before = _counts(points(reader))
    for n in (1, 2, 3):
        await hm.pubsub("otel.go", {"n": n}, timeout=10)
    with pytest.raises(errors.JobError):
        await hm.pubsub("otel.go", {"n": -1}, timeout=10)
    after = _counts(points(reader))
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert delta[("hotmesh.jobs.started", "")] == 4
    assert delta[("hotmesh.jobs.completed", "success/200")] == 3
    assert delta[("hotmesh.jobs.completed", "error/500")] == 1
    assert delta[("hotmesh.job.duration", "success")] == 3
    assert delta[("hotmesh.activity.duration", "w")] == 4


def _counts(found: dict[str, list[Any]]) -> dict[tuple[str, str], int]:
    """Counts of the 'otelm' app's points, keyed by metric and a short label."""
    out: dict[tuple[str, str], int] = {}
    for name, data in found.items():
        for point in data:
            attrs = dict(point.attributes)
            if attrs.get("hotmesh.app") != "otelm":
                continue
            if name == "hotmesh.jobs.completed":
                label = f"{attrs['hotmesh.job.status']}/{attrs['hotmesh.job.code']}"
                value = point.value
            elif name == "hotmesh.jobs.started":
                label, value = "", point.value
            elif name == "hotmesh.job.duration":
                label, value = attrs["hotmesh.job.status"], point.count
            elif name == "hotmesh.activity.duration":
                label, value = attrs.get("hotmesh.activity.id", ""), point.count
            else:
                continue
            key = (name, label)
            out[key] = out.get(key, 0) + value
    return out


def test_refresh_asks_for_both_providers_again(monkeypatch: pytest.MonkeyPatch) -> None:
    metric_reader()
    monkeypatch.setattr(telemetry.meters, "_METERING", False)
    monkeypatch.setattr(telemetry, "_ON", False)
    monkeypatch.setattr(
        telemetry.meters, "_UNMETERED_SINCE", 1e18
    )  # "just found unset"
    monkeypatch.setattr(telemetry, "_OFF_SINCE", 1e18)
    assert not telemetry.metering()
    telemetry.refresh()
    assert telemetry.metering()
