"""Timers asleep cost the engine stream's claim and ``next_due`` nothing (issue 21).

Thousands of timers not yet due sit in ``messages``; the claim reads the work
due now and the timers whose time has come apart (migration 0036), so its
plan never walks the sleeping rows: what it reads stays small however many
sleep. The plans are checked, not timings, and so is what the claim returns.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from hotmesh.store.postgres import PostgresStore
from hotmesh.store.records import ENGINE_STREAM

SLEEPERS = 3000
ADD = """
INSERT INTO hotmesh.messages (app_id, stream, type, priority, job_id, payload, visible_at)
SELECT 'ts', $1, $2, $3, $2 || '-' || n, '{}'::jsonb,
       now() + make_interval(secs => $4 + n * $5::float8)
  FROM generate_series(1, $6) AS n
"""


@pytest.fixture
async def store(pg_dsn: str) -> AsyncIterator[PostgresStore]:
    store = await PostgresStore.open(pg_dsn, "hotmesh", pool_size=4)
    yield store
    await store.close()


async def _fill(conn: Any, due: int) -> None:
    """SLEEPERS timers due in an hour or more, ``due`` timers due a minute ago
    (inserted delayed, then moved back as the clock would have), 5 messages due
    now (priority 0-4) and 2 messages of another stream."""
    await conn.execute(ADD, ENGINE_STREAM, "sleep", 5, 3600.0, 0.5, SLEEPERS)
    await conn.execute(ADD, ENGINE_STREAM, "due", 5, 1.0, 0.0, due)
    await conn.execute(
        "UPDATE hotmesh.messages SET created_at = created_at - interval '1 hour',"
        " visible_at = visible_at - interval '1 hour' WHERE type = 'due'"
    )
    for p in range(5):
        await conn.execute(ADD, ENGINE_STREAM, "now", p, 0.0, 0.0, 1)
    await conn.execute(ADD, "w1.work", "now", 9, 0.0, 0.0, 2)
    await conn.execute("VACUUM ANALYZE hotmesh.messages")


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


async def _plan(conn: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    """The nodes of ``sql``'s executed plan (in a transaction rolled back)."""
    tx = conn.transaction()
    await tx.start()
    try:
        raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
    finally:
        await tx.rollback()
    return _nodes(json.loads(raw)[0]["Plan"])


@pytest.mark.parametrize("due", [0, 40])
async def test_claim_and_next_due_never_walk_the_sleeping_timers(
    store: PostgresStore, due: int
) -> None:
    async with store._pool.acquire() as conn:
        await _fill(conn, due)
        for name, args in (
            ("claim_plain", ("ts", ENGINE_STREAM, "me", 30.0, 10)),
            ("next_due", ("ts", ENGINE_STREAM, 64)),
        ):
            # the sixth run onwards may take the generic plan: check both kinds
            for _ in range(7):
                nodes = await _plan(conn, store._q[name], *args)
                scans = [n for n in nodes if "Relation Name" in n]
                assert all(n["Node Type"] != "Seq Scan" for n in scans), (name, scans)
                read = sum(
                    (n["Actual Rows"] + n.get("Rows Removed by Filter", 0))
                    * n["Actual Loops"]
                    for n in scans
                )
                # the rows it returns and what it sorts among (due ones), not the sleepers
                assert read <= 64 + 2 * (due + 5) + 20, (name, read, nodes)


async def test_claim_takes_due_timers_and_ready_work_by_priority_never_sleepers(
    store: PostgresStore,
) -> None:
    async with store._pool.acquire() as conn:
        await _fill(conn, 3)
    got = await store.claim("ts", ENGINE_STREAM, "me", 30.0, 6)
    # the 3 due timers (priority 5) first, then the ready work from priority 4 down
    assert [(m.type, m.priority) for m in got.messages] == [
        ("due", 5), ("due", 5), ("due", 5), ("now", 4), ("now", 3), ("now", 2)
    ]  # fmt: skip
    rest = await store.claim("ts", ENGINE_STREAM, "other", 30.0, 10)
    assert [(m.type, m.priority) for m in rest.messages] == [("now", 1), ("now", 0)]
    # claimed ones are leased: nothing more until a lease runs out
    assert (await store.claim("ts", ENGINE_STREAM, "third", 30.0, 10)).messages == []
    due = await store.next_due("ts", ENGINE_STREAM, 4)
    assert len(due) == 4 and 3599 < due[0] < due[1] < due[2] < due[3] < 3603
    # a lease that ran out makes its message claimable again, due timer or not
    async with store._pool.acquire() as conn:
        await conn.execute(
            "UPDATE hotmesh.messages SET reserved_until = now() - interval '1 s'"
            " WHERE reserved_by = 'me' AND priority IN (5, 4)"
        )
    again = await store.claim("ts", ENGINE_STREAM, "fourth", 30.0, 10)
    assert sorted((m.type, m.priority, m.attempts) for m in again.messages) == [
        ("due", 5, 2), ("due", 5, 2), ("due", 5, 2), ("now", 4, 2)
    ]  # fmt: skip


async def test_a_delayed_message_moved_due_by_time_skip_is_claimed(
    store: PostgresStore, pg_dsn: str
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(ADD, ENGINE_STREAM, "sleep", 5, 60.0, 0.0, 1)
    finally:
        await conn.close()
    assert (await store.claim("ts", ENGINE_STREAM, "me", 30.0, 10)).messages == []
    async with store._pool.acquire() as c:
        await c.execute(
            "UPDATE hotmesh.messages SET visible_at = visible_at - interval '61 s'"
        )
    got = await store.claim("ts", ENGINE_STREAM, "me", 30.0, 10)
    assert [m.type for m in got.messages] == ["sleep"]
