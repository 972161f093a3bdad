"""Attempts in the timeline: a retried worker activity's row records how many
attempts failed before its answer (``output.metadata.try``), and the job page
shows the attempts of each run, in its table and on its Gantt bar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from hotmesh import HotMesh, MemFlow
from hotmesh.memflow import registry
from hotmesh.memflow import workflow as wf
from tests.dashboard.conftest import served

APP = """
app:
  id: flaky
  version: '1'
  graphs:
    - subscribes: flaky.go
      activities:
        t: {type: trigger}
        w:
          type: worker
          topic: flaky.work
          input: {maps: {fails: '{t.output.data.fails}'}}
          job: {maps: {calls: '{$self.output.data.calls}'}}
      transitions:
        t: [{to: w}]
"""


@pytest.fixture
async def flaky(pg_dsn: str) -> AsyncIterator[HotMesh]:
    calls: dict[str, int] = {}

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        """Fail the first ``fails`` calls of each job, then answer."""
        jid = str(message["metadata"]["jid"])
        calls[jid] = calls.get(jid, 0) + 1
        if calls[jid] <= int(message["data"]["fails"]):
            raise RuntimeError(f"attempt {calls[jid]} fails")
        return {"data": {"calls": calls[jid]}}

    hm = await HotMesh.init(
        app_id="flaky",
        engine={"connection": {"dsn": pg_dsn}},
        workers=[
            {
                "topic": "flaky.work",
                "callback": work,
                "retry": {
                    "maximum_attempts": 5,
                    "initial_interval": 0.01,
                    "backoff_coefficient": 1,
                },
            }
        ],
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        yield hm
    finally:
        await hm.stop()


async def test_a_retried_run_shows_its_attempts(flaky: HotMesh, pg_dsn: str) -> None:
    retried = await flaky.pubsub("flaky.go", {"fails": 2}, timeout=60)
    once = await flaky.pubsub("flaky.go", {"fails": 0}, timeout=60)
    assert retried["data"]["calls"] == 3 and once["data"]["calls"] == 1
    retried_id = retried["metadata"]["jid"]
    conn = await asyncpg.connect(pg_dsn)
    try:  # the run's own row records the two failed attempts
        tries = await conn.fetchval(
            """SELECT (a.output->'metadata'->>'try')::int FROM hotmesh.activities a
                 JOIN hotmesh.jobs j ON j.id = a.job
                WHERE j.job_id = $1 AND a.activity_id = 'w'""",
            retried_id,
        )
    finally:
        await conn.close()
    assert tries == 2
    with served(pg_dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            page = (await client.get(f"/jobs/{retried_id}")).text
            plain = (await client.get(f"/jobs/{once['metadata']['jid']}")).text
    assert '<td class="num attempts retried">3</td>' in page
    assert "w ,0,0 ×3" in page and "3 attempts" in page  # the Gantt bar
    assert '<td class="num attempts">1</td>' in plain
    assert "retried" not in plain and "×" not in plain


FLAKY_CALLS: list[str] = []


async def shaky(name: str) -> str:
    """An activity whose first call fails."""
    FLAKY_CALLS.append(name)
    if len(FLAKY_CALLS) == 1:
        raise RuntimeError("first call fails")
    return f"hello {name}"


async def greets(name: str) -> str:
    acts = wf.proxy_activities(
        activities={"shaky": shaky},
        retry_policy={
            "maximum_attempts": 3,
            "initial_interval": 0.01,
            "backoff_coefficient": 1,
        },
    )
    return str(await acts.shaky(name))


async def test_a_retried_memflow_activity_shows_its_attempts(pg_dsn: str) -> None:
    FLAKY_CALLS.clear()
    conn = {"dsn": pg_dsn}
    worker = await MemFlow.Worker.create(
        {"connection": conn, "task_queue": "shaky", "workflow": greets}
    )
    client = MemFlow.Client({"connection": conn})
    try:
        handle = await client.workflow.start(
            args=["ann"],
            task_queue="shaky",
            workflow_name="greets",
            workflow_id="wf-shaky",
        )
        assert await handle.result() == "hello ann"
        assert len(FLAKY_CALLS) == 2
        with served(pg_dsn) as console:
            async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:
                page = (await http.get("/workflows/wf-shaky")).text
        assert "×2" in page and "2 attempts" in page
    finally:
        await client.close()
        await worker.stop()
        registry.clear()
