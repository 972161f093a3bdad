"""hotmesh.testing.WorkflowEnvironment: MemFlow on a clock that skips (issue 23)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from hotmesh.memflow import registry
from hotmesh.testing import WorkflowEnvironment

QUEUE = "skip-q"
DAY = 86400.0


@pytest.fixture
async def env(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WorkflowEnvironment]:
    # the same server choice as the plugin's fixtures: the suite's server
    monkeypatch.setenv("HOTMESH_TEST_DSN", pg_server)
    async with await WorkflowEnvironment.start_time_skipping() as started:
        yield started
    registry.clear()


async def stamp(label: str) -> str:
    return f"{label} done"


async def month_long(label: str) -> dict[str, Any]:
    acts = MemFlow.workflow.proxy_activities(activities=[stamp])
    before = MemFlow.workflow.now()
    await MemFlow.workflow.sleep_for("30 days")
    done = await acts.stamp(label)
    after = MemFlow.workflow.now()
    return {"done": done, "slept": (after - before).total_seconds()}


async def test_a_workflow_that_sleeps_30_days_completes_in_under_two_seconds(
    env: WorkflowEnvironment,
) -> None:
    async with MemFlow.Worker.create(
        {"connection": env.connection, "task_queue": QUEUE, "workflow": month_long}
    ):
        began = time.monotonic()
        handle = await env.client.workflow.start(
            args=["order-1"], task_queue=QUEUE, workflow_name=month_long
        )
        out = await handle.result(timeout=30)
        spent = time.monotonic() - began
    assert out["done"] == "order-1 done"
    # the workflow's own clock saw the 30 days go by
    assert 30 * DAY <= out["slept"] < 30 * DAY + 60
    assert env.clock.skipped >= 30 * DAY - 60
    assert spent < 2.0, f"30 days took {spent:.2f} s of real time"


async def twice(n: int) -> list[float]:
    """Sleeps 1 h, then 2 h: the times it woke (workflow clock)."""
    woke = []
    for hours in (1, 2):
        await MemFlow.workflow.sleep_for(f"{hours}h")
        woke.append(MemFlow.workflow.now().timestamp())
    return woke


async def test_env_sleep_moves_time_by_hand_stopping_at_each_timer(
    env: WorkflowEnvironment,
) -> None:
    async with MemFlow.Worker.create(
        {"connection": env.connection, "task_queue": QUEUE, "workflow": twice}
    ):
        handle = await env.client.workflow.start(
            args=[1], task_queue=QUEUE, workflow_name=twice
        )
        start = env.clock.now().timestamp()
        await env.sleep("30m")
        assert await handle.status() > 0  # still asleep: 30 min < 1 h
        # 3 h covers both sleeps: the second is set only once the first woke
        await env.sleep("3h")
        assert await handle.status() == 0
        woke = await handle.result(timeout=10)
    assert 3600 <= woke[0] - start < 3600 + 60
    assert 3 * 3600 <= woke[1] - start < 3 * 3600 + 60


async def ticked(label: str) -> str:
    return str(MemFlow.workflow.info()["scheduled_at"])


async def test_a_schedule_fires_on_the_moved_clock(env: WorkflowEnvironment) -> None:
    async with MemFlow.Worker.create(
        {"connection": env.connection, "task_queue": QUEUE, "workflow": ticked}
    ):
        made = await env.client.schedule.create(
            ticked, args=["t"], task_queue=QUEUE, every="6h", overlap="allow"
        )
        first = made["next_fire_at"]
        assert first > env.clock.now() + timedelta(hours=5)
        await env.sleep("13h")  # two ticks: +6 h and +12 h
        got = await env.client.schedule.get("ticked")
    runs = sorted(r["scheduled_at"] for r in got["recent_runs"])
    assert runs == [first, first + timedelta(hours=6)]
    results = []
    for run in got["recent_runs"]:
        handle = env.client.workflow.get_handle(QUEUE, "ticked", run["job_id"])
        results.append(await handle.result(timeout=10))
    assert sorted(results) == [t.isoformat() for t in runs]


async def waits(key: str) -> Any:
    return await MemFlow.workflow.wait_for(key, timeout="1d")


async def test_time_skips_only_while_a_result_is_awaited(
    env: WorkflowEnvironment,
) -> None:
    """A workflow waiting for a signal (with a day's timeout) is not timed out
    before the test sends it: nothing awaits a result yet, so time stands."""
    async with MemFlow.Worker.create(
        {"connection": env.connection, "task_queue": QUEUE, "workflow": waits}
    ):
        handle = await env.client.workflow.start(
            args=["go"], task_queue=QUEUE, workflow_name=waits
        )
        assert env.clock.skipped == 0
        await env.client.workflow.signal("go", {"ok": True}, handle.workflow_id)
        assert await handle.result(timeout=10) == {"ok": True}
        # and without the signal, the timeout fires on the skipped clock
        late = await env.client.workflow.start(
            args=["never"], task_queue=QUEUE, workflow_name=waits
        )
        assert await late.result(timeout=10) is False
    assert env.clock.skipped >= DAY - 60


FAILS: dict[str, int] = {}


async def flaky(key: str) -> str:
    FAILS[key] = FAILS.get(key, 0) + 1
    if FAILS[key] < 3:
        raise RuntimeError(f"attempt {FAILS[key]} failed")
    return f"{key} after {FAILS[key]} attempts"


async def backs_off(key: str) -> str:
    acts = MemFlow.workflow.proxy_activities(
        activities=[flaky],
        retry_policy={
            "initial_interval": "1h",
            "maximum_interval": "1d",
            "maximum_attempts": 3,
        },
    )
    return await acts.flaky(key)


async def test_retry_back_offs_and_delayed_starts_are_skipped_too(
    env: WorkflowEnvironment,
) -> None:
    async with MemFlow.Worker.create(
        {"connection": env.connection, "task_queue": QUEUE, "workflow": backs_off}
    ):
        # an hour, then five hours between the attempts
        handle = await env.client.workflow.start(
            args=["k1"], task_queue=QUEUE, workflow_name=backs_off
        )
        assert await handle.result(timeout=30) == "k1 after 3 attempts"
        assert env.clock.skipped >= 6 * 3600 - 60
        before = env.clock.skipped
        later = await env.client.workflow.start(
            args=["k2"],
            task_queue=QUEUE,
            workflow_name=backs_off,
            start_delay="2d",
        )
        assert await later.result(timeout=30) == "k2 after 3 attempts"
        assert env.clock.skipped - before >= 2 * DAY + 6 * 3600 - 60


async def waits_for_a_condition(limit: str) -> str:
    ready: list[bool] = []
    MemFlow.workflow.set_signal_handler("ready", lambda: ready.append(True))
    try:
        await MemFlow.workflow.wait_condition(lambda: bool(ready), timeout=limit)
    except Exception as exc:
        return type(exc).__name__
    return "ready"


async def test_a_condition_timeout_fires_on_the_skipped_clock(
    env: WorkflowEnvironment,
) -> None:
    async with MemFlow.Worker.create(
        {
            "connection": env.connection,
            "task_queue": QUEUE,
            "workflow": waits_for_a_condition,
        }
    ):
        handle = await env.client.workflow.start(
            args=["3d"], task_queue=QUEUE, workflow_name=waits_for_a_condition
        )
        assert await handle.result(timeout=30) == "ConditionTimeoutError"
    assert env.clock.skipped >= 3 * DAY - 60


async def test_a_connection_already_open_on_another_clock_is_refused(
    pg_dsn: str,
) -> None:
    async with MemFlow.Client({"connection": {"dsn": pg_dsn}}) as client:
        await client.mesh()
        with pytest.raises(errors.ConfigError, match="another clock"):
            await WorkflowEnvironment.start_time_skipping(pg_dsn)
        # the refusal left the client's own connection open
        assert not (await client.mesh()).stopped


async def naps(hours: int) -> str:
    await MemFlow.workflow.sleep_for(f"{hours}h")
    return "woke"


async def test_a_workflow_execution_timeout_fires_on_the_skipped_clock(
    env: WorkflowEnvironment,
) -> None:
    async with MemFlow.Worker.create(
        {"connection": env.connection, "task_queue": QUEUE, "workflow": naps}
    ):
        handle = await env.client.workflow.start(
            args=[48],
            task_queue=QUEUE,
            workflow_name=naps,
            execution_timeout="1d",
        )
        with pytest.raises(errors.WorkflowTimedOutError):
            await handle.result(timeout=30)
    # the timeout came first: a day skipped, not the two of the sleep
    assert DAY - 60 <= env.clock.skipped < 2 * DAY - 60


async def remind(user: str) -> str:
    return f"reminded {user}"


async def weekly(user: str) -> list[str]:
    acts = MemFlow.workflow.proxy_activities(task_queue="reminders")
    sent = []
    for _ in range(3):
        await MemFlow.workflow.sleep_for("7 days")
        sent.append(await acts.remind(user))
    return sent


async def test_an_activity_worker_on_the_environment_connection_serves_the_workflow(
    env: WorkflowEnvironment,
) -> None:
    acts = await MemFlow.register_activity_worker(
        {"connection": env.connection, "task_queue": "reminders"}, [remind]
    )
    try:
        async with MemFlow.Worker.create(
            {"connection": env.connection, "task_queue": QUEUE, "workflow": weekly}
        ):
            handle = await env.client.workflow.start(
                args=["ana"], task_queue=QUEUE, workflow_name=weekly
            )
            assert await handle.result(timeout=30) == ["reminded ana"] * 3
    finally:
        await acts.stop()
    assert env.clock.skipped >= 21 * DAY - 60
