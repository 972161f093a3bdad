"""The sticky cache at the runner, no database: a resumed activation answers
as a replay does, and any job data it has not seen exactly is a replay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hotmesh import MemFlow
from hotmesh.memflow import registry, runner, sticky

NS, QUEUE = "mfsticky", "q"
finals: list[str] = []


async def add(x: int, y: int) -> int:
    return x + y


async def chain(n: int) -> int:
    acts = MemFlow.workflow.proxy_activities(activities=[add])
    total = 0
    try:
        for i in range(n):
            total = await acts.add(total, i)
            if i == 1:
                await MemFlow.workflow.sleep_for(1)
    finally:
        finals.append("finally")
    return total


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    registry.add_workflow(NS, QUEUE, chain)
    finals.clear()
    yield
    registry.clear()


def _message(wid: str, state: dict[str, Any]) -> dict[str, Any]:
    data = {
        "workflowId": wid,
        "workflowName": "chain",
        "taskQueue": QUEUE,
        "arguments": [4],
        "generation": 0,
        "state": state,
    }
    return {"metadata": {}, "data": data}


def _next(state: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The job data after the engine ran what ``answer`` asks for."""
    data = answer["data"]
    state = {**state, **data.get("markers", {})}
    if data.get("type") == "sleep":
        state.update(data["record"])
    else:
        x, y = data["input"]["args"]
        state[data["marker"]] = {"data": x + y, "name": "add"}
    return state


async def _answers(cache: sticky.Cache | None) -> list[dict[str, Any]]:
    state: dict[str, Any] = {"args": [4]}
    out = []
    while True:
        answer = await runner.activate(NS, _message("w", state), cache=cache)
        out.append(answer)
        if answer["code"] != runner.PROXY and answer["code"] != runner.SLEEP:
            return out
        state = _next(state, answer)


async def test_resumed_activations_answer_as_replayed_ones() -> None:
    replayed = await _answers(None)
    cache = sticky.Cache(10)
    resumed = await _answers(cache)
    assert resumed == replayed
    assert replayed[-1]["data"]["response"] == sum(range(4))
    assert (cache.hits, cache.misses) == (len(replayed) - 1, 1)
    assert len(cache) == 0  # done: nothing kept


async def test_data_the_cached_workflow_has_not_seen_is_a_replay() -> None:
    cache = sticky.Cache(10)
    first = await runner.activate(NS, _message("w", {"args": [4]}), cache=cache)
    entry = cache.take("w")
    assert entry is not None
    cache.put(entry)
    # another process ran the second activation: the job data is one step on
    second = _next({"args": [4]}, first)
    third = _next(second, await runner.activate(NS, _message("w", second)))
    answer = await runner.activate(NS, _message("w", third), cache=cache)
    assert entry.task.done()  # the stale one was unwound (its finally ran)
    assert (cache.hits, cache.misses) == (0, 2)
    replay = await runner.activate(NS, _message("w", third))
    assert answer == replay


async def test_eviction_unwinds_the_least_recently_used() -> None:
    cache = sticky.Cache(1)
    for wid in ("a", "b"):
        await runner.activate(NS, _message(wid, {"args": [4]}), cache=cache)
    assert len(cache) == 1 and cache.take("a") is None
    assert finals == ["finally"]  # a's, at its eviction
    kept = cache.take("b")
    assert kept is not None
    await runner.unwind(kept.ctx, kept.task)
    assert finals == ["finally", "finally"]
