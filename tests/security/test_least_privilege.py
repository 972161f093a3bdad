"""Least privilege: hotmesh runs end to end as a role that owns only its schema.

The role is what docs/howto/database.md describes: ``LOGIN``, not a superuser,
no ``CREATE`` on the database, owner of the ``hotmesh`` schema. It migrates,
deploys, runs a job with a worker, and cannot read, change or create anything
outside its schema.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from hotmesh import HotMesh, errors

APP = """
app:
  id: lp
  version: '1'
  graphs:
    - subscribes: lp.go
      expire: 60
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: lp.work
          input:
            maps:
              n: '{t1.output.data.n}'
          job:
            maps:
              doubled: '{w1.output.data.doubled}'
      transitions:
        t1:
          - to: w1
"""


def _as(dsn: str, role: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture
async def role(pg_dsn: str) -> AsyncIterator[str]:
    """A login role owning schema ``hotmesh`` in the test database, and nothing else."""
    name = f"hm_lp_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        # the DDL that docs/howto/database.md gives, verbatim but for the name
        await admin.execute(f"CREATE ROLE {name} LOGIN")
        await admin.execute(f"CREATE SCHEMA hotmesh AUTHORIZATION {name}")
        await admin.execute(
            "CREATE SCHEMA other;"
            " CREATE TABLE other.secrets (v text);"
            " INSERT INTO other.secrets VALUES ('top secret')"
        )
        yield name
    finally:
        await admin.execute(f"DROP OWNED BY {name} CASCADE")
        await admin.execute(f"DROP ROLE {name}")
        await admin.close()


async def test_hotmesh_runs_as_a_role_that_owns_only_its_schema(
    pg_dsn: str, role: str
) -> None:
    admin = await asyncpg.connect(pg_dsn)
    try:
        facts = await admin.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole,"
            " has_database_privilege($1, current_database(), 'CREATE') AS db_create,"
            " has_schema_privilege($1, 'public', 'CREATE') AS public_create"
            " FROM pg_roles WHERE rolname = $1",
            role,
        )
    finally:
        await admin.close()
    assert not any(facts.values()), dict(facts)

    async def double(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"doubled": message["data"]["n"] * 2}}

    dsn = _as(pg_dsn, role)
    hm = await HotMesh.init(
        "lp",
        engine={"connection": {"dsn": dsn}},
        workers=[{"topic": "lp.work", "callback": double}],
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        out = await hm.pubsub("lp.go", {"n": 21}, timeout=10)
        assert out["data"] == {"doubled": 42}
        assert await hm.get_status(out["metadata"]["jid"]) == 0
    finally:
        await hm.stop()

    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == role
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'hotmesh'"
            " AND tablename = 'jobs'"
        )
        assert owner == role
        for statement in (
            "SELECT * FROM other.secrets",
            "INSERT INTO other.secrets VALUES ('x')",
            "DROP TABLE other.secrets",
            "CREATE TABLE other.mine (v int)",
            "CREATE TABLE public.mine (v int)",
            "CREATE SCHEMA mine",
            "DROP SCHEMA other CASCADE",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_schema_the_role_does_not_own_is_a_clear_error(
    pg_dsn: str, role: str
) -> None:
    """Without CREATE on the database the role cannot make a new schema: one
    hotmesh error (no raw driver error, no pool left reconnecting)."""
    with pytest.raises(errors.StoreError, match="cannot prepare schema 'elsewhere'"):
        await HotMesh.init(
            "lp",
            engine={"connection": {"dsn": _as(pg_dsn, role)}, "schema": "elsewhere"},
        )
