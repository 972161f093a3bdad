"""Apply the numbered SQL migrations once, under an advisory lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotmesh.config import validate_name
from hotmesh.store.sql import migrations

if TYPE_CHECKING:
    import asyncpg

#: Arbitrary constant namespacing hotmesh's advisory locks.
_LOCK_BASE = 0x686D


def quote_schema(schema: str) -> str:
    """Validate ``schema`` against a strict identifier regex and quote it."""
    return f'"{validate_name(schema, "schema name")}"'


async def migrate(conn: asyncpg.Connection, schema: str) -> list[int]:
    """Create ``schema`` and apply missing migrations; returns the versions applied now."""
    quoted = quote_schema(schema)
    await conn.execute("SELECT pg_advisory_lock($1, hashtext($2))", _LOCK_BASE, schema)
    try:
        # CREATE SCHEMA needs CREATE on the database even when the schema
        # exists: a role that only owns its schema must not be asked for it.
        if not await conn.fetchval(
            "SELECT true FROM pg_namespace WHERE nspname = $1", schema
        ):
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted}.migrations ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            r[0] for r in await conn.fetch(f"SELECT version FROM {quoted}.migrations")
        }
        applied = []
        for number, sql in migrations(quoted):
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    f"INSERT INTO {quoted}.migrations (version) VALUES ($1)", number
                )
            applied.append(number)
        return applied
    finally:
        await conn.execute(
            "SELECT pg_advisory_unlock($1, hashtext($2))", _LOCK_BASE, schema
        )
