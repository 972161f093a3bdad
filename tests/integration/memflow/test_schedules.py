"""MemFlow schedules and delayed starts, on an injected clock:
``client.schedule``, ``workflow.start(start_delay=)`` and ``workflow.info()``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from hotmesh.clock import ManualClock
from tests.integration.memflow.conftest import Env

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
QUEUE = "sched-q"


async def report(label: str) -> dict[str, Any]:
    info = MemFlow.workflow.info()
    return {
        "label": label,
        "workflow_id": info["workflow_id"],
        "scheduled_at": info["scheduled_at"],
        "started_at": info["started_at"],
    }


async def _clocked(mf: Env) -> ManualClock:
    clock = ManualClock(T0)
    # the firing loop is off: the test runs each pass itself, at the clock's time
    mf.conn = {"dsn": mf.dsn, "options": {"clock": clock, "schedules": False}}
    await mf.worker(QUEUE, report)
    return clock


async def test_a_schedule_starts_a_workflow_per_tick_and_info_gives_its_times(
    mf: Env,
) -> None:
    clock = await _clocked(mf)
    made = await mf.client.schedule.create(
        report, args=["tick"], task_queue=QUEUE, every="1h", overlap="allow"
    )
    assert made["id"] == "report"
    assert (made["workflow_name"], made["task_queue"], made["args"]) == (
        "report",
        QUEUE,
        ["tick"],
    )
    assert made["next_fire_at"] == T0 + timedelta(hours=1)
    clock.advance(3600)
    tick_id = "report:2026-06-01T13:00:00.000000Z"
    hm = await mf.client.mesh()
    assert await hm.schedules.fire_due() == [tick_id]
    handle = mf.client.workflow.get_handle(QUEUE, "report", tick_id)
    assert await handle.result(timeout=15) == {
        "label": "tick",
        "workflow_id": tick_id,
        "scheduled_at": "2026-06-01T13:00:00+00:00",
        "started_at": "2026-06-01T13:00:00+00:00",
    }
    got = await mf.client.schedule.get("report")
    assert got["recent_runs"][0]["job_id"] == tick_id
    assert [s["id"] for s in await mf.client.schedule.list()] == ["report"]
    updated = await mf.client.schedule.update("report", args=["changed"])
    assert updated["args"] == ["changed"]
    manual = await mf.client.schedule.trigger("report")
    result = await mf.client.workflow.get_handle(QUEUE, "report", manual).result(15)
    assert result["label"] == "changed"
    assert result["scheduled_at"] is not None
    await mf.client.schedule.delete("report")
    assert await mf.client.schedule.list() == []


async def test_start_delay_creates_the_workflow_now_and_runs_it_later(
    mf: Env,
) -> None:
    clock = await _clocked(mf)
    handle = await mf.client.workflow.start(
        args=["later"],
        task_queue=QUEUE,
        workflow_name="report",
        workflow_id="d1",
        start_delay="10m",
    )
    assert await handle.status() == 1  # scheduled: it exists, nothing ran
    assert await handle.state() == {
        "workflowId": "d1",
        "workflowName": "report",
        "taskQueue": QUEUE,
        "args": ["later"],
        "generation": 0,
        "done": False,
    }
    clock.advance(600)
    assert await (await mf.client.mesh()).schedules.fire_due() == ["d1"]
    assert await handle.result(timeout=15) == {
        "label": "later",
        "workflow_id": "d1",
        "scheduled_at": "2026-06-01T12:10:00+00:00",
        "started_at": "2026-06-01T12:10:00+00:00",
    }
    now = await mf.client.workflow.start(
        args=["now"], task_queue=QUEUE, workflow_name="report", workflow_id="d2"
    )
    assert await now.result(timeout=15) == {
        "label": "now",
        "workflow_id": "d2",
        "scheduled_at": None,  # nothing scheduled it: started when created
        "started_at": "2026-06-01T12:10:00+00:00",
    }


async def test_bad_schedule_options_are_config_errors(mf: Env) -> None:
    await _clocked(mf)
    with pytest.raises(errors.ConfigError, match="'cron'"):
        await mf.client.schedule.create(report, task_queue=QUEUE, cron="61 * * * *")
    with pytest.raises(errors.ConfigError, match="task_queue"):
        await mf.client.schedule.create(report, every="1m")
    with pytest.raises(errors.ConfigError, match="'args'"):
        await mf.client.schedule.create(report, args="x", task_queue=QUEUE, every=60)
    with pytest.raises(errors.ConfigError, match="'delay'"):
        await mf.client.workflow.start(
            task_queue=QUEUE, workflow_name="report", start_delay="whenever"
        )
