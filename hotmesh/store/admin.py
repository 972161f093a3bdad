"""One-shot connections outside any store: the ``db`` commands' probes and
migration, and the test fixtures' ``CREATE``/``DROP DATABASE``."""

from __future__ import annotations

from typing import Any

import asyncpg

from hotmesh import errors
from hotmesh.config import mask_dsn, validate_name
from hotmesh.store.faults import malformed
from hotmesh.store.migrate import migrate, quote_schema
from hotmesh.store.sql import queries


async def server_version(dsn: str, timeout: float) -> str:
    """Connect once and return the server's version: a liveness probe."""
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except ValueError as exc:
        if isinstance(exc, asyncpg.InterfaceError):
            raise
        raise malformed(dsn) from None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def migrate_database(dsn: str, schema: str = "hotmesh") -> list[int]:
    """Connect once and apply missing migrations; returns the versions applied now."""
    quote_schema(schema)
    try:
        conn = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise errors.StoreUnavailableError(
            f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {exc}"
        ) from None
    except ValueError:
        raise malformed(dsn) from None
    try:
        return await migrate(conn, schema)
    finally:
        await conn.close()


async def schema_summary(
    dsn: str, schema: str, timeout: float
) -> dict[str, Any] | None:
    """Schema version and row counts, or None when the schema was never migrated.

    Reads only: a status probe must not create the schema.
    """
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except ValueError as exc:
        if isinstance(exc, asyncpg.InterfaceError):
            raise
        raise malformed(dsn) from None
    try:
        name = quote_schema(schema)
        if await conn.fetchval("SELECT to_regclass($1)", f"{name}.migrations") is None:
            return None
        row = await conn.fetchrow(queries(name)["schema_summary"])
        return None if row is None else dict(row)
    finally:
        await conn.close()


async def create_database(server_dsn: str, name: str) -> None:
    """``CREATE DATABASE name`` on the server of ``server_dsn`` (test fixtures)."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{validate_name(name, "database name")}"')
    finally:
        await conn.close()


async def drop_database(server_dsn: str, name: str) -> None:
    """Drop a database, disconnecting its sessions (test fixtures)."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(
            f'DROP DATABASE IF EXISTS "{validate_name(name, "database name")}" WITH (FORCE)'
        )
    finally:
        await conn.close()
