"""``wf.entity()``: the JSON document per workflow (issue 19), on real
PostgreSQL: rebuilt on replay, carried across continue_as_new, readable
from the client."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
CALLS: Counter[str] = Counter()


async def tick(n: int) -> int:
    CALLS["tick"] += 1
    return n


async def profile(name: str) -> dict[str, Any]:
    """Changes between activities: each activation replays the earlier ones."""
    acts = wf.proxy_activities(activities={"tick": tick})
    doc = wf.entity()
    await doc.set({"user": {"name": name}, "tags": []})
    await acts.tick(1)
    await doc.merge({"user": {"age": 40}, "plan": "free"})
    await doc.append("tags", "new")
    await acts.tick(2)
    await doc.append("tags", "trial")
    visits = await doc.increment("stats.visits")
    visits = await doc.increment("stats.visits", 2)
    removed = await doc.delete("plan")
    await acts.tick(3)
    return {
        "doc": await doc.get(),
        "name": await doc.get("user.name"),
        "first_tag": await doc.get("tags.0"),
        "missing": await doc.get("user.email"),
        "visits": visits,
        "removed": removed,
    }


async def test_the_entity_is_rebuilt_on_replay_and_readable_outside(
    mf: Env,
) -> None:
    CALLS.clear()
    await mf.worker("en", profile)
    handle = await mf.client.workflow.start(
        args=["ann"], task_queue="en", workflow_name=profile
    )
    out = await asyncio.wait_for(handle.result(), 15)
    final = {"user": {"name": "ann", "age": 40}, "tags": ["new", "trial"]}
    final["stats"] = {"visits": 3}
    assert out == {
        "doc": final,
        "name": "ann",
        "first_tag": "new",
        "missing": None,
        "visits": 3,
        "removed": "free",
    }
    assert CALLS["tick"] == 3
    assert await handle.entity() == final  # the recorded document


async def runs(n: int) -> dict[str, Any]:
    doc = wf.entity()
    await doc.increment("runs")
    await doc.append("seen", n)
    if n < 2:
        await wf.sleep_for(0.01)
        wf.continue_as_new(n + 1)
    result: dict[str, Any] = await doc.get()
    return result


async def test_continue_as_new_carries_the_document_on(mf: Env) -> None:
    await mf.worker("en", runs)
    handle = await mf.client.workflow.start(
        args=[0], task_queue="en", workflow_name=runs
    )
    out = await asyncio.wait_for(handle.result(), 15)
    assert out == {"runs": 3, "seen": [0, 1, 2]}


async def misuse(kind: str) -> str:
    doc = wf.entity()
    await doc.set({"name": "x"})
    try:
        if kind == "append":
            await doc.append("name", 1)
        elif kind == "set":
            await doc.set(["not", "an", "object"])  # type: ignore[arg-type]
        else:
            await doc.merge({"bad": {1, 2}})
    except errors.WorkflowError as exc:
        return str(exc)
    return "accepted"


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("append", "'name' is not a list"),
        ("set", "takes an object"),
        ("merge", "cannot be stored"),
    ],
)
async def test_a_bad_change_is_a_clear_error(mf: Env, kind: str, said: str) -> None:
    await mf.worker("en", misuse)
    handle = await mf.client.workflow.start(
        args=[kind], task_queue="en", workflow_name=misuse
    )
    assert said in await asyncio.wait_for(handle.result(), 15)
    assert await handle.entity() == {"name": "x"}  # nothing else changed
