"""MemFlow traces (issue 18): one trace per workflow, one span per durable call
(activities, a sleep, a signal wait, a child), none added by replays;
``workflow.trace()`` records its span once; a wait links to the signal's sender."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace

from hotmesh import MemFlow, telemetry
from tests.integration.memflow.conftest import Env
from tests.integration.otel_spans import MEMORY, SWITCH, install

wf = MemFlow.workflow
RUNS: Counter[str] = Counter()
TRACED: list[bool] = []


@pytest.fixture
def spans() -> Iterator[None]:
    install(MEMORY)
    telemetry.refresh()
    MEMORY.clear()
    SWITCH.on = True
    RUNS.clear()
    TRACED.clear()
    yield
    SWITCH.on = False
    MEMORY.clear()


async def greet(name: str) -> str:
    return f"hello {name}"


async def kid(n: int) -> int:
    return n * 2


async def story(name: str) -> list[Any]:
    RUNS["story"] += 1
    acts = wf.proxy_activities(activities={"greet": greet})
    first = await acts.greet(name)
    TRACED.append(await wf.trace("story.checkpoint", {"name": name, "tags": ["a"]}))
    await wf.sleep_for(0.1)
    signal = await wf.wait_for("go")
    child = await wf.exec_child(workflow_name="kid", args=[3], task_queue="otq")
    second = await acts.greet("again")
    return [first, signal, child, second]


async def test_a_workflow_is_one_trace_with_a_span_per_call(
    mf: Env, spans: None
) -> None:
    await mf.worker("otq", story)
    await mf.worker("otq", kid)
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("test") as root:
        handle = await mf.client.workflow.start(
            args=["ann"], task_queue="otq", workflow_name="story", workflow_id="st-1"
        )
    # the wait is reached once the first activity and the sleep are done: the
    # signal is kept until then if it comes first
    with tracer.start_as_current_span("sender") as sender:
        await handle.signal("go", {"ok": True})
    out = await asyncio.wait_for(handle.result(), 30)
    assert out == ["hello ann", {"ok": True}, 6, "hello again"]

    trace_id = root.get_span_context().trace_id
    mine = [s for s in MEMORY.get_finished_spans() if s.context.trace_id == trace_id]
    names = Counter(s.name for s in mine)
    assert names == Counter(
        {
            "test": 1,
            "workflow story": 1,
            "activity greet": 2,
            "worker otq-activity": 2,  # each activity's callback, where it ran
            "story.checkpoint": 1,
            "sleep": 1,
            "wait": 1,
            "child kid": 1,
            "workflow kid": 1,  # the child workflow's own span
        }
    ), names  # one each: the activations that replayed the function added none
    assert RUNS["story"] >= 6  # replayed on every activation
    # trace() recorded its span once; every replay after it recorded nothing
    assert TRACED[0] is True and len(TRACED) >= 4 and not any(TRACED[1:])
    by_name = {s.name: s for s in mine}
    job = by_name["workflow story"]
    assert job.parent is not None and job.parent.span_id == root.context.span_id
    for span in mine:
        if span.name not in ("test", "workflow story"):
            assert (
                span.parent is not None and span.parent.span_id == job.context.span_id
            )
    attrs = by_name["story.checkpoint"].attributes
    assert attrs["name"] == "ann" and attrs["tags"] == '["a"]'
    assert (
        by_name["child kid"].attributes["memflow.child.workflow_id"].startswith("st-1")
    )
    wait = by_name["wait"]
    assert wait.attributes["memflow.signal.key"] == "st-1:go"
    assert [link.context.span_id for link in wait.links] == [sender.context.span_id]


async def test_trace_outside_a_traced_workflow_records_nothing(mf: Env) -> None:
    SWITCH.on = False
    TRACED.clear()
    await mf.worker("otq", story)
    await mf.worker("otq", kid)
    handle = await mf.client.workflow.start(
        args=["bo"], task_queue="otq", workflow_name="story", workflow_id="st-2"
    )
    await handle.signal("go", 1)
    assert (await asyncio.wait_for(handle.result(), 30))[1] == 1
    assert TRACED and not any(TRACED)


async def busy_kid(name: str) -> str:
    acts = wf.proxy_activities(activities={"greet": greet})
    return str(await acts.greet(name))


async def family(name: str) -> list[str]:
    first = await wf.exec_child(workflow_name="busy_kid", args=[name], task_queue="otq")
    detached = await wf.start_child(
        workflow_name="busy_kid", args=["kit"], task_queue="otq"
    )
    return [first, await detached.result()]


async def test_a_child_workflows_calls_hang_from_its_own_span(
    mf: Env, spans: None
) -> None:
    await mf.worker("otq", family)
    await mf.worker("otq", busy_kid)
    with trace.get_tracer("tests").start_as_current_span("test") as root:
        handle = await mf.client.workflow.start(
            args=["bo"], task_queue="otq", workflow_name="family", workflow_id="fa-1"
        )
    assert await asyncio.wait_for(handle.result(), 30) == ["hello bo", "hello kit"]
    trace_id = root.get_span_context().trace_id
    mine = [s for s in MEMORY.get_finished_spans() if s.context.trace_id == trace_id]
    names = Counter(s.name for s in mine)
    assert names["workflow family"] == 1
    assert names["workflow busy_kid"] == 2  # awaited and detached alike
    assert names["activity greet"] == 2  # one per child, none per replay
    parent = next(s for s in mine if s.name == "workflow family")
    kids = {s.context.span_id: s for s in mine if s.name == "workflow busy_kid"}
    for span in mine:
        if span.name == "workflow busy_kid":
            assert span.parent is not None
            assert span.parent.span_id == parent.context.span_id
        if span.name == "activity greet":  # each child's call, under that child
            assert span.parent is not None and span.parent.span_id in kids
            kid = kids[span.parent.span_id]
            assert kid.attributes["hotmesh.job_id"] == span.attributes["hotmesh.job_id"]
