"""The test-database fixture gives each test a private, working database."""

from __future__ import annotations

import asyncpg


async def test_each_test_gets_an_empty_private_database(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        name = await conn.fetchval("SELECT current_database()")
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    assert name.startswith("hm_t_")
    assert tables == 0
