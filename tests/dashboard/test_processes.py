"""The overview's live processes (the process registry, migration 0029) and its
chart of finished jobs (the tallies the processes write with their beats),
with real processes on a real database."""

from __future__ import annotations

import asyncio
import html
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from hotmesh.presence import Tally
from tests.dashboard.conftest import Shop, served
from tests.nodes import start_node, stop_nodes

DEADLINE = 60.0


@pytest.fixture
async def procs() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    await stop_nodes(started, 15)


def _row(page: str, pid: int) -> str | None:
    """The registry table row of process ``pid`` on the overview, as text."""
    for row in re.findall(r"<tr class=\"(?:live|stale)\".*?</tr>", page, re.S):
        if f"pid {pid}<" in row:
            return html.unescape(row)
    return None


async def _overview(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/")
        assert answer.status_code == 200
        return answer.text


async def _until_stale(url: str, pid: int) -> str:
    """The row of ``pid`` once the overview shows it stale (beats stopped)."""
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while True:
        row = _row(await _overview(url), pid)
        assert row is not None, "a killed process's row stays until it is old"
        if 'class="stale"' in row:
            return row
        assert asyncio.get_running_loop().time() < deadline, row
        await asyncio.sleep(0.2)  # poll the page: its staleness is the event


async def test_running_processes_show_with_topics_and_heartbeat_then_go_or_turn_stale(
    shop: Shop, procs: list[asyncio.subprocess.Process]
) -> None:
    node = "tests.dashboard.proc_node"
    one = await start_node(procs, node, shop.dsn, "0.2", "dash.check", "dash.extra")
    two = await start_node(procs, node, shop.dsn, "0.2", "dash.check")
    with served(shop.dsn) as console:
        page = await _overview(console.url)
        first, second = _row(page, one.pid), _row(page, two.pid)
        assert first is not None and second is not None
        assert 'class="live"' in first and "stale" not in first
        assert "engine + 2 workers" in first and "dash.check, dash.extra" in first
        assert "engine + 1 worker<" in second
        # this test's own HotMesh (the shop fixture) is listed too
        assert _row(page, os.getpid()) is not None

        # a clean stop deletes the row
        assert one.stdin is not None
        one.stdin.close()
        assert await asyncio.wait_for(one.wait(), DEADLINE) == 0
        assert _row(await _overview(console.url), one.pid) is None

        # a killed process stops beating: its row turns stale (3 missed beats)
        two.kill()
        await two.wait()
        row = await _until_stale(console.url, two.pid)
        assert "dash.check" in row


async def test_the_chart_counts_the_jobs_a_process_finished_once_it_beats(
    shop: Shop,
) -> None:
    job_id = await shop.order("counted")
    await shop.hm.signal("dash.approve", {"id": job_id, "by": "ann"})
    await shop.finished(job_id)
    with served(shop.dsn) as console:
        before = await _overview(console.url)
        assert "0 completed, 0 failed" in before  # not written before the beat
        await shop.hm.presence.beat()
        after = await _overview(console.url)
    assert "1 completed, 0 failed" in after
    conn = await asyncpg.connect(shop.dsn)
    try:
        rows = await conn.fetch("SELECT app_id, done, failed FROM hotmesh.job_minutes")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [("dash", 1, 0)]


def test_a_tally_counts_per_minute_and_keeps_what_a_failed_beat_returns() -> None:
    tally = Tally()
    at = datetime(2026, 12, 7, 18, 30, 5, tzinfo=UTC)
    tally.add(at, failed=False)
    tally.add(at.replace(second=59), failed=True)
    tally.add(at.replace(minute=31), failed=False)
    taken = tally.take()
    minute = at.replace(second=0)
    assert taken == [(minute, 1, 1), (minute.replace(minute=31), 1, 0)]
    assert tally.take() == []
    tally.put_back(taken)
    tally.add(at, failed=False)
    assert tally.take() == [(minute, 2, 1), (minute.replace(minute=31), 1, 0)]
