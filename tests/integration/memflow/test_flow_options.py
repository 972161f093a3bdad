"""MemFlow's flow options (issue 17): Worker.create and proxy_activities set
the limits of a task queue's activities, which every process obeys; a
proxy's key is taken from each call's arguments and rides on its work
message. Bad options are ConfigErrors naming the option. The cross-process
properties are in test_flow_processes.py."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from hotmesh import errors
from hotmesh.memflow import workflow
from tests.integration.memflow.conftest import Env
from tests.waiting import Changes, until_notified


async def limited_flow(n: int) -> int:
    acts = workflow.proxy_activities(task_queue="limited")
    return int(await acts.double(n))


async def double(n: int) -> int:
    return n * 2


async def test_worker_create_sets_the_activity_topic_limits(mf: Env) -> None:
    w = await mf.worker(
        "limited",
        limited_flow,
        activities={"double": double},
        options={"concurrency": 2, "rate": {"limit": 100, "period": "1s"}},
    )
    limits = await w.mesh.topic_limits()
    assert limits["limited-activity"]["concurrency"] == 2
    assert limits["limited-activity"]["rate"] == {
        "limit": 100,
        "period": 1.0,
        "keyed": False,
    }
    handle = await mf.client.workflow.start(
        args=[21],
        task_queue="limited",
        workflow_name="limited_flow",
        workflow_id="lim-1",
    )
    assert await handle.result() == 42


async def test_worker_create_refuses_bad_limits_naming_the_field(mf: Env) -> None:
    with pytest.raises(errors.ConfigError, match=r"Worker.create: 'rate.period'"):
        await mf.worker(
            "limited", limited_flow, options={"rate": {"limit": 5, "period": "never"}}
        )


@pytest.mark.parametrize("option", ["concurrency", "rate"])
async def test_worker_create_refuses_a_key_before_it_connects(
    mf: Env, option: str
) -> None:
    value: dict[str, Any] = {"limit": 1, "key": "customer"}
    if option == "rate":
        value["period"] = "1s"
    with pytest.raises(errors.ConfigError) as caught:
        await mf.worker("keyed", limited_flow, options={option: value})
    message = str(caught.value)
    assert f"Worker.create: a 'key' in options.{option}" in message
    assert f"proxy_activities({option}=" in message  # where a key goes instead


STARTED: asyncio.Event | None = None
RELEASE: asyncio.Event | None = None


async def held(n: int) -> int:
    assert STARTED is not None and RELEASE is not None
    STARTED.set()
    await RELEASE.wait()
    return n


async def urgent_flow(n: int) -> int:
    acts = workflow.proxy_activities(task_queue="prio", priority=7)
    return int(await acts.held(n))


async def test_proxy_activities_priority_rides_on_the_work_message(
    mf: Env, pg_dsn: str
) -> None:
    global STARTED, RELEASE
    STARTED, RELEASE = asyncio.Event(), asyncio.Event()
    await mf.worker("prio", urgent_flow, activities={"held": held})
    handle = await mf.client.workflow.start(
        args=[5], task_queue="prio", workflow_name="urgent_flow", workflow_id="prio-1"
    )
    await asyncio.wait_for(STARTED.wait(), 20)
    conn = await asyncpg.connect(pg_dsn)
    try:
        priorities = await conn.fetch(
            "SELECT priority FROM hotmesh.messages WHERE stream = 'w:prio-activity'"
        )
    finally:
        await conn.close()
    RELEASE.set()
    assert [r["priority"] for r in priorities] == [7]
    assert await handle.result() == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"priority": "high"}, "proxy_activities: 'priority' must be an integer"),
        ({"concurrency": 0}, "proxy_activities: 'concurrency' must be an integer"),
        (
            {"concurrency": {"limit": 2, "key": "{$job.data.customer}"}},
            "'concurrency.key' must be an activity parameter's name",
        ),
        (
            {"concurrency": {"limt": 2}},
            "'concurrency.limt' is not an option (did you mean 'limit'?)",
        ),
        (
            {"rate": {"limit": 1, "period": "soon"}},
            "proxy_activities: 'rate.period' must be a duration",
        ),
        ({"rate": {"limit": 1}}, "proxy_activities: 'rate.period' is required"),
        (
            {"rate": {"limit": 1, "period": "1s", "key": -1}},
            "'rate.key' must be an activity parameter's name",
        ),
        (
            {"concurency": 2},
            "unknown option 'concurency' (did you mean 'concurrency'?)",
        ),
        (
            {"activities": {"double": double}, "concurrency": {"limit": 1, "key": "m"}},
            "'concurrency.key' names parameter 'm', which activity 'double' does not have",
        ),
    ],
)
def test_proxy_activities_refuses_bad_flow_options(
    options: dict[str, Any], message: str
) -> None:
    # checked where the proxy is made, before it needs a workflow
    with pytest.raises(errors.ConfigError) as caught:
        workflow.proxy_activities(task_queue="bad", **options)
    assert message in str(caught.value)


RUNNING: dict[str, int] = {}
PEAK: dict[str, int] = {}
ALL_PEAK = {"now": 0, "peak": 0}
GO: asyncio.Event | None = None
#: told each time a call starts (the test waits for the four keys' first calls)
CALLS = Changes()


async def charge(customer: str, n: int) -> int:
    assert GO is not None
    RUNNING[customer] = RUNNING.get(customer, 0) + 1
    PEAK[customer] = max(PEAK.get(customer, 0), RUNNING[customer])
    ALL_PEAK["now"] += 1
    ALL_PEAK["peak"] = max(ALL_PEAK["peak"], ALL_PEAK["now"])
    CALLS.changed()
    # every key's first call runs at once (they do not hold each other back)
    await asyncio.wait_for(GO.wait(), 20)
    RUNNING[customer] -= 1
    ALL_PEAK["now"] -= 1
    return n


async def keyed_flow(customer: str, n: int) -> int:
    acts = workflow.proxy_activities(
        activities={"charge": charge},
        concurrency={"limit": 1, "key": "customer"},
    )
    return int(await acts.charge(customer, n))


async def test_a_per_key_limit_of_1_runs_keys_side_by_side_never_a_key_twice(
    mf: Env, pg_dsn: str
) -> None:
    global GO
    GO = asyncio.Event()
    RUNNING.clear(), PEAK.clear()
    ALL_PEAK.update(now=0, peak=0)
    w = await mf.worker("keyed", keyed_flow, activities={"charge": charge})
    handles = [
        await mf.client.workflow.start(
            args=[f"c{i % 4}", i],
            task_queue="keyed",
            workflow_name="keyed_flow",
            workflow_id=f"k-{i}",
        )
        for i in range(12)
    ]
    await CALLS.until(lambda: ALL_PEAK["peak"] >= 4, 30, "each key's first call runs")
    conn = await asyncpg.connect(pg_dsn)
    try:  # the keys ride on the work messages (deleted once acked: read now)
        keys = await conn.fetch(
            "SELECT DISTINCT ckey FROM hotmesh.messages WHERE stream = 'w:keyed-activity'"
        )
    finally:
        await conn.close()
    GO.set()
    assert sorted([await h.result() for h in handles]) == list(range(12))
    assert {r["ckey"] for r in keys} == {"c0", "c1", "c2", "c3"}
    assert PEAK == {f"c{k}": 1 for k in range(4)}
    assert ALL_PEAK["peak"] == 4  # the four keys at once, never more
    limits = await w.mesh.topic_limits()
    assert limits["keyed-activity"]["key_concurrency"] == 1
    assert limits["keyed-activity"]["concurrency"] is None


async def bad_key_flow(n: int) -> str:
    acts = workflow.proxy_activities(
        activities={"double": double},
        concurrency={"limit": 1, "key": lambda n: None if n < 0 else n},
    )
    try:
        await acts.double(n)
    except errors.ConfigError as exc:
        return str(exc)
    return "no error"


async def test_a_key_that_gives_nothing_raises_in_the_workflow_naming_it(
    mf: Env,
) -> None:
    await mf.worker("badkey", bad_key_flow, activities={"double": double})
    handle = await mf.client.workflow.start(
        args=[-1], task_queue="badkey", workflow_name="bad_key_flow", workflow_id="bk"
    )
    message = await handle.result()
    assert message == (
        "proxy_activities: concurrency.key of double() gave None; "
        "a key is a non-empty string or a number"
    )


async def conflicting_flow(n: int) -> int:
    acts = workflow.proxy_activities(activities={"double": double}, concurrency=3)
    return int(await acts.double(n))


async def test_two_different_limits_for_one_task_queue_are_refused(
    mf: Env,
) -> None:
    await mf.worker(
        "twice", conflicting_flow, activities={"double": double},
        options={"concurrency": 2},
    )  # fmt: skip
    handle = await mf.client.workflow.start(
        args=[1], task_queue="twice", workflow_name="conflicting_flow",
        workflow_id="tw",
    )  # fmt: skip
    with pytest.raises(errors.WorkflowFailedError) as caught:
        await handle.result()
    assert "'concurrency' of task queue activities 'twice-activity'" in str(
        caught.value
    )
    assert "concurrency 3 here but concurrency 2 in Worker.create" in str(caught.value)


async def sent(customer: str) -> str:
    return customer


async def rated_key_flow(customer: str) -> str:
    acts = workflow.proxy_activities(
        activities={"sent": sent},
        rate={"limit": 1, "period": "1h", "key": lambda customer: customer},
    )
    return str(await acts.sent(customer))


async def test_a_keyed_rate_holds_back_that_key_only_and_fails_nothing(
    mf: Env,
) -> None:
    w = await mf.worker("rkey", rated_key_flow, activities={"sent": sent})

    async def start(workflow_id: str, customer: str) -> Any:
        return await mf.client.workflow.start(
            args=[customer],
            task_queue="rkey",
            workflow_name="rated_key_flow",
            workflow_id=workflow_id,
        )

    assert await (await start("r1", "a")).result() == "a"
    assert await (await start("r2", "b")).result() == "b"  # another key: its own hour
    held = await start("r3", "a")  # a's second call within the hour waits
    limits: dict[str, Any] = {}

    async def waits() -> bool:
        nonlocal limits
        limits = (await w.mesh.topic_limits())["rkey-activity"]
        return bool(limits["waiting"] >= 1)

    await until_notified(mf.conn["dsn"], waits, 20, "the held call sent, waiting")
    assert limits["waiting"] == 1 and limits["running"] == 0
    assert limits["rate"] == {"limit": 1, "period": 3600.0, "keyed": True}
    assert (await held.describe())["status"] == "running"
