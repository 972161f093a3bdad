"""Inline workers (engine/inline.py, issue 21): a step's work for a local
worker registered ``inline: True`` is answered before that step is written,
and both steps are written together; any answer but a plain success leaves
the work to the worker's consumer, as without the option."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import errors
from hotmesh.store.records import worker_stream
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: inl
  version: '1'
  graphs:
    - subscribes: inl.go
      expire: 300
      activities:
        t1: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        a:
          type: worker
          topic: inl.a
          input: {maps: {n: '{t1.output.data.n}'}}
          job: {maps: {a: '{$self.output.data.n}'}}
        b:
          type: worker
          topic: inl.b
          input: {maps: {n: '{a.output.data.n}'}}
          job: {maps: {b: '{$self.output.data.n}'}}
      transitions:
        t1: [{to: a}]
        a: [{to: b}]
"""


async def _plus_one(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"n": message["data"]["n"] + 1}}


async def _watched(mesh: MeshFactory) -> tuple[Any, list[dict[str, Any]]]:
    """The app, with ``inl.b`` inline; the list gets the job data stored when
    each ``b`` call began."""
    seen: list[dict[str, Any]] = []
    hms: list[Any] = []

    async def b(message: dict[str, Any]) -> dict[str, Any]:
        job = await hms[0].engine.read(message["metadata"]["jid"])
        seen.append(dict(job.data))
        return await _plus_one(message)

    hm = await mesh(
        "inl",
        workers=[
            {"topic": "inl.a", "callback": _plus_one},
            {"topic": "inl.b", "callback": b, "inline": True},
        ],
    )
    hms.append(hm)
    await hm.deploy(APP)
    await hm.activate("1")
    return hm, seen


async def test_an_inline_answer_is_written_with_the_step_that_sent_its_work(
    mesh: MeshFactory,
) -> None:
    hm, seen = await _watched(mesh)
    for i in range(3):
        out = await hm.pubsub("inl.go", {"id": f"j{i}", "n": 1}, timeout=20)
        assert (out["data"]["a"], out["data"]["b"]) == (2, 3)
    assert [s.get("a") for s in seen] == [None] * 3  # a's answer: not stored yet


async def test_a_topic_with_flow_limits_is_never_called_inline(
    mesh: MeshFactory,
) -> None:
    """An inline call would pass the topic's limit by: with any limit set,
    even one never reached, the work goes through the limited hand-over."""
    hm, seen = await _watched(mesh)
    await hm.set_topic_limits("inl.b", concurrency=1000)
    assert worker_stream("inl.b") in hm.engine.flow_streams
    for i in range(2):
        out = await hm.pubsub("inl.go", {"id": f"l{i}", "n": 1}, timeout=20)
        assert (out["data"]["a"], out["data"]["b"]) == (2, 3)
    assert [s.get("a") for s in seen] == [2, 2]  # a's answer: stored first
    await hm.set_topic_limits("inl.b")  # limits off: inline again
    assert worker_stream("inl.b") not in hm.engine.flow_streams
    out = await hm.pubsub("inl.go", {"id": "l2", "n": 1}, timeout=20)
    assert out["data"]["b"] == 3 and seen[-1].get("a") is None


async def test_an_inline_failure_is_retried_or_fails_as_from_the_consumer(
    mesh: MeshFactory,
) -> None:
    tries: list[int] = []

    async def b(message: dict[str, Any]) -> dict[str, Any]:
        tries.append(message["metadata"]["try"])
        if message["data"]["n"] == 9 or len(tries) == 1:
            raise RuntimeError("not now")
        return await _plus_one(message)

    retry = {"maximum_attempts": 2, "initial_interval": 0.01}
    hm = await mesh(
        "inl",
        workers=[
            {"topic": "inl.a", "callback": _plus_one},
            {"topic": "inl.b", "callback": b, "inline": True, "retry": retry},
        ],
    )
    await hm.deploy(APP)
    await hm.activate("1")
    # run once inline (it raised), then again after its back-off: once each
    out = await hm.pubsub("inl.go", {"id": "f1", "n": 1}, timeout=20)
    assert out["data"]["b"] == 3
    assert tries == [0, 1]
    tries.clear()
    with pytest.raises(errors.JobError, match="not now"):
        await hm.pubsub("inl.go", {"id": "f2", "n": 8}, timeout=20)
    assert tries == [0, 1]  # no retry left: the job fails with the error


async def test_inline_is_true_or_false(mesh: MeshFactory) -> None:
    with pytest.raises(errors.ConfigError, match="inline must be True or False"):
        await mesh(
            "inl", workers=[{"topic": "inl.b", "callback": _plus_one, "inline": 1}]
        )
