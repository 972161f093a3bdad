"""OpenTelemetry (issue 18): a child job's own span, a job span's outcome when
the job ends in another process, and the spans of steps run as one batch."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from hotmesh import errors, telemetry
from hotmesh.engine import batcher
from hotmesh.engine.commit import StepCommit
from tests.integration.conftest import MeshFactory
from tests.integration.otel_spans import APP, MEMORY, SWITCH, install, record
from tests.nodes import start_node, stop_nodes


class Watch(SpanExporter):
    """Tells a test when a span it waits for has ended (spans end in the event
    loop's thread: the SDK's simple processor exports at once)."""

    def __init__(self) -> None:
        self.waits: list[tuple[Callable[[ReadableSpan], bool], asyncio.Event]] = []

    def expect(self, wanted: Callable[[ReadableSpan], bool]) -> asyncio.Event:
        ended = asyncio.Event()
        self.waits.append((wanted, ended))
        return ended

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            for wanted, ended in self.waits:
                if wanted(span):
                    ended.set()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


WATCH = Watch()


@pytest.fixture
def spans() -> Iterator[None]:
    install(MEMORY)
    install(WATCH)
    telemetry.refresh()
    MEMORY.clear()
    WATCH.waits.clear()
    SWITCH.on = True
    yield
    SWITCH.on = False
    MEMORY.clear()
    WATCH.waits.clear()


def of_trace(root: Any) -> list[dict[str, Any]]:
    trace_id = trace.format_trace_id(root.get_span_context().trace_id)
    found = [record(s) for s in MEMORY.get_finished_spans()]
    return [s for s in found if s["trace"] == trace_id]


FAMILY = """
app:
  id: otelfam
  version: '1'
  graphs:
    - subscribes: fam.parent
      expire: 60
      activities:
        p: {type: trigger}
        a:
          type: await
          topic: fam.child
          input: {maps: {n: '{p.output.data.n}'}}
          job: {maps: {n: '{$self.output.data.n}'}}
      transitions:
        p: [{to: a}]
    - subscribes: fam.child
      expire: 60
      activities:
        c: {type: trigger}
        cw:
          type: worker
          topic: fam.work
          input: {maps: {n: '{c.output.data.n}'}}
          job: {maps: {n: '{$self.output.data.n}'}}
      transitions:
        c: [{to: cw}]
"""


async def _double(message: dict[str, Any]) -> dict[str, Any]:
    n = message["data"]["n"]
    if n < 0:
        raise ValueError("negative")
    return {"data": {"n": n * 2}}


async def test_a_child_job_has_its_own_span_under_its_parents(
    mesh: MeshFactory, spans: None
) -> None:
    hm = await mesh("otelfam", workers=[{"topic": "fam.work", "callback": _double}])
    await hm.deploy(FAMILY)
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test") as root:
        out = await hm.pubsub("fam.parent", {"n": 4}, timeout=20)
    assert out["data"]["n"] == 8
    mine = of_trace(root)
    names = Counter(s["name"] for s in mine)
    assert names == Counter(
        {
            "test": 1,
            "job fam.parent": 1,
            "p": 1,
            "a": 1,
            "job fam.child": 1,
            "c": 1,
            "cw": 1,
            "worker fam.work": 1,
        }
    ), names
    by_name = {s["name"]: s for s in mine}
    parent, child = by_name["job fam.parent"], by_name["job fam.child"]
    assert child["parent"] == parent["span"]
    for name in ("p", "a"):  # the parent's activities stay under the parent
        assert by_name[name]["parent"] == parent["span"], name
    for name in ("c", "cw", "worker fam.work"):  # the child's, under the child
        assert by_name[name]["parent"] == child["span"], name
    child_id = by_name["c"]["attributes"]["hotmesh.job_id"]
    assert child["attributes"]["hotmesh.job_id"] == child_id != out["metadata"]["jid"]
    assert child["status"] == "UNSET"
    # the child's span covers its work (activity times are the engine clock's
    # stamps, to the millisecond) and ends before its parent's
    ms = 1_000_000
    assert child["start"] // ms <= by_name["cw"]["start"] // ms
    assert child["end"] // ms >= by_name["cw"]["end"] // ms
    assert child["end"] <= parent["end"]
    assert not telemetry.awaits(child_id)  # ended, not left open


async def test_a_failed_child_job_span_has_the_error(
    mesh: MeshFactory, spans: None
) -> None:
    hm = await mesh("otelfam", workers=[{"topic": "fam.work", "callback": _double}])
    await hm.deploy(FAMILY)
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test") as root:
        with pytest.raises(errors.JobError):
            await hm.pubsub("fam.parent", {"n": -1}, timeout=20)
    by_name = {s["name"]: s for s in of_trace(root)}
    child = by_name["job fam.child"]
    assert child["status"] == "ERROR"
    assert child["attributes"]["hotmesh.job.error_code"] == "500"
    assert by_name["job fam.parent"]["status"] == "ERROR"


async def test_a_child_that_cannot_start_ends_its_span_with_the_reason(
    mesh: MeshFactory, spans: None
) -> None:
    hm = await mesh("otelfam")
    await hm.deploy(FAMILY.replace("topic: fam.child", "topic: fam.nobody"))
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test") as root:
        with pytest.raises(errors.JobError):
            await hm.pubsub("fam.parent", {"n": 1}, timeout=20)
    kids = [s for s in of_trace(root) if s["name"] == "job fam.nobody"]
    assert len(kids) == 1 and kids[0]["status"] == "ERROR"
    parent = next(s for s in of_trace(root) if s["name"] == "job fam.parent")
    assert kids[0]["parent"] == parent["span"]


async def test_a_job_that_fails_in_another_process_ends_its_span_with_the_error(
    mesh: MeshFactory, spans: None, pg_dsn: str, tmp_path: Path
) -> None:
    hm = await mesh("otel")  # no worker here: the node runs it, and ends the job
    await hm.deploy(APP)
    await hm.activate("1")
    ended = WATCH.expect(lambda s: s.name == "job otel.go")
    procs: list[Any] = []
    try:
        await start_node(
            procs, "tests.integration.otel_node", pg_dsn, str(tmp_path / "s.jsonl")
        )
        with trace.get_tracer("tests").start_as_current_span("test") as root:
            job_id = await hm.pub("otel.go", {"n": -1})
        # the node completes the job; this process hears it and reads the outcome
        await asyncio.wait_for(ended.wait(), 30)
    finally:
        await stop_nodes(procs, grace=10)
    job = next(s for s in of_trace(root) if s["name"] == "job otel.go")
    assert job["attributes"]["hotmesh.job_id"] == job_id
    assert job["status"] == "ERROR"
    assert job["attributes"]["hotmesh.job.error_code"] == "500"


BRANCHES = 12
ACTS = "\n".join(
    f"        w{i}: {{type: worker, topic: fan.work, input: {{maps: {{i: {i}}}}}, "
    f"telemetry: {{branch.i: '{{$self.output.data.i}}'}}, "
    f"job: {{maps: {{f{i}: '{{$self.output.data.i}}'}}}}}}"
    for i in range(BRANCHES)
)
EDGES = ", ".join(f"{{to: w{i}}}" for i in range(BRANCHES))
FAN = f"""
app:
  id: otelfan
  version: '1'
  graphs:
    - subscribes: fan.go
      expire: 60
      activities:
        t: {{type: trigger}}
{ACTS}
      transitions:
        t: [{EDGES}]
"""


async def test_steps_run_as_one_batch_keep_each_activitys_span(
    mesh: MeshFactory, spans: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    combined: list[int] = []
    real = batcher.combine

    def combine(commits: list[StepCommit]) -> StepCommit:
        combined.append(len(commits))
        return real(commits)

    monkeypatch.setattr(batcher, "combine", combine)  # observed, not replaced
    arrived: list[int] = []
    release = asyncio.Event()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        arrived.append(message["data"]["i"])
        if len(arrived) == BRANCHES:
            release.set()
        await release.wait()  # every branch answers at the same moment
        return {"data": {"i": message["data"]["i"]}}

    hm = await mesh("otelfan", workers=[{"topic": "fan.work", "callback": work}])
    await hm.deploy(FAN)
    await hm.activate("1")
    with trace.get_tracer("tests").start_as_current_span("test") as root:
        out = await hm.pubsub("fan.go", {}, timeout=30)
    assert all(out["data"][f"f{i}"] == i for i in range(BRANCHES))
    assert max(combined) > 1  # some answers did run as one batch
    branches = [s for s in of_trace(root) if s["name"][1:].isdigit()]
    assert sorted(s["name"] for s in branches) == sorted(
        f"w{i}" for i in range(BRANCHES)
    )  # each branch's span once, batched or not
    for span in branches:  # with its telemetry map, batched or not
        assert span["attributes"]["branch.i"] == int(span["name"][1:]), span
