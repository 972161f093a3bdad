"""A claim takes at most the batch it asks for, whatever plan the statistics give."""

from __future__ import annotations

import asyncpg
import pytest

from hotmesh.store.postgres import PostgresStore
from hotmesh.store.records import ENGINE_STREAM


# The engine stream's claim (claim_plain) and a worker stream's without flow
# limits (claim_flow's first branch, migration 0039) had the same plan.
@pytest.mark.parametrize("stream", [ENGINE_STREAM, "worker.topic"])
async def test_a_claim_takes_no_more_than_its_limit_after_a_burst(
    pg_dsn: str, stream: str
) -> None:
    store = await PostgresStore.open(pg_dsn, pool_size=4)
    conn = await asyncpg.connect(pg_dsn)
    try:
        # A queue that was drained when it was analysed: the statistics say
        # empty over many pages, the plan under which `id IN (... LIMIT n
        # FOR UPDATE SKIP LOCKED)` re-ran its sub-select per updated row.
        insert = (
            "INSERT INTO hotmesh.messages (app_id, stream, type, payload) "
            "SELECT 'app', $1, 'x', '{}' FROM generate_series(1, $2)"
        )
        await conn.execute(insert, stream, 2000)
        await conn.execute("DELETE FROM hotmesh.messages")
        await conn.execute("ANALYZE hotmesh.messages")
        await conn.execute(insert, stream, 50)

        first = await store.claim("app", stream, "me", 5.0, 10)
        second = await store.claim("app", stream, "other", 5.0, 10)

        assert len(first.messages) == 10
        assert len(second.messages) == 10
        assert not {m.id for m in first.messages} & {m.id for m in second.messages}
        held = await conn.fetch(
            "SELECT reserved_by, count(*) AS n FROM hotmesh.messages "
            "GROUP BY reserved_by ORDER BY reserved_by NULLS LAST"
        )
        assert [(r["reserved_by"], r["n"]) for r in held] == [
            ("me", 10),
            ("other", 10),
            (None, 30),
        ]
    finally:
        await conn.close()
        await store.close()


async def test_a_prune_deletes_no_more_than_its_batch_under_the_same_plan(
    pg_dsn: str,
) -> None:
    store = await PostgresStore.open(pg_dsn, pool_size=4)
    conn = await asyncpg.connect(pg_dsn)
    try:
        insert = (
            "INSERT INTO hotmesh.jobs (app_id, job_id, gid, topic, version, status,"
            " metadata, created_at, expired_at) SELECT 'app', $2 || g, 'g', 't', '1',"
            " 0, '{}', now() - interval '2 days', now() - interval '2 days'"
            " FROM generate_series(1, $1) AS g"
        )
        await conn.execute(insert, 2000, "old-")
        await conn.execute("DELETE FROM hotmesh.jobs")
        await conn.execute("ANALYZE hotmesh.jobs")
        await conn.execute(insert, 50, "expired-")

        assert await store.prune("app", 60.0, 10) == (10, 0)
        assert await conn.fetchval("SELECT count(*) FROM hotmesh.jobs") == 40
    finally:
        await conn.close()
        await store.close()
