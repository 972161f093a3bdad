"""Chaos fixtures: the integration HotMesh factory, and a faulty proxy to PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.chaos.proxy import FaultyProxy
from tests.integration.conftest import mesh

__all__ = ["mesh", "proxy"]


@pytest.fixture
async def proxy(pg_dsn: str) -> AsyncIterator[FaultyProxy]:
    parts = urlsplit(pg_dsn)
    if not parts.hostname or parts.hostname.startswith("/"):
        # the embedded server listens on a Unix socket only
        pytest.skip("the fault proxy needs a TCP database address")
    made = FaultyProxy(parts.hostname, parts.port or 5432)
    await made.start()
    yield made
    await made.stop()
