"""The heartbeat sample (examples/memflow_heartbeat.py): its activity resumes
from its heartbeat details after a retry, and after its worker is SIGKILLed."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from examples import memflow_heartbeat as sample
from hotmesh import MemFlow
from tests.nodes import start_node, stop_nodes

Spawn = Callable[[], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn(pg_dsn: str) -> AsyncIterator[Spawn]:
    """Start sample worker processes (claims lapse after 1 s); stopped afterwards."""
    procs: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        return await start_node(
            procs, "examples.memflow_heartbeat", "serve", pg_dsn, "1.0"
        )

    yield start
    await stop_nodes(procs, 15)


async def lines_until(proc: asyncio.subprocess.Process, last: str) -> list[str]:
    """The process's output lines up to and including ``last``."""
    assert proc.stdout is not None
    out: list[str] = []
    while not out or out[-1] != last:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, f"the process ended before printing {last!r}: {out}"
        out.append(line.decode().strip())
    return out


async def test_run_alone_a_failed_attempt_resumes_at_its_last_heartbeat(
    pg_dsn: str,
) -> None:
    assert await sample.main(pg_dsn) == {
        "records": 8,
        "attempt": 2,
        "resumed_after": 5,
    }


async def test_a_killed_workers_activity_resumes_in_another_process(
    pg_dsn: str, spawn: Spawn
) -> None:
    client = MemFlow.Client({"connection": {"dsn": pg_dsn}})
    conn = await asyncpg.connect(pg_dsn)
    try:
        first = await spawn()
        handle = await client.workflow.start(
            args=[40], task_queue=sample.TASK_QUEUE, workflow_name="process_batch"
        )
        seen = await lines_until(first, "record 12 attempt 1")
        assert seen[0] == "attempt 1 resumes after record 0"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        # what the killed attempt had written: its last heartbeat but at most
        # one throttle interval (1 s, about 20 records here)
        details = await conn.fetchval(
            "SELECT h.details FROM hotmesh.activity_heartbeats h "
            "JOIN hotmesh.jobs j ON j.id = h.job WHERE j.job_id = $1",
            handle.workflow_id,
        )
        saved = json.loads(details)[0]
        assert 1 <= saved <= 12
        second = await spawn()  # takes the work back once the claim lapses
        out = await lines_until(second, "record 40 attempt 2")
        assert out[0] == f"attempt 2 resumes after record {saved}"
        assert out[1:] == [f"record {n} attempt 2" for n in range(saved + 1, 41)]
        result = await asyncio.wait_for(handle.result(), 30)
        assert result == {"records": 40, "attempt": 2, "resumed_after": saved}
    finally:
        await client.close()
        await conn.close()
