"""Closing the store returns even when a connection is never given back."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotmesh.store import postgres
from hotmesh.store.postgres import PostgresStore


async def test_close_terminates_a_connection_still_in_use_after_the_grace(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(postgres, "CLOSE_GRACE", 0.5)
    store = await PostgresStore.open(pg_dsn, "hotmesh", pool_size=4)
    held = await store._pool.acquire()  # a task that never gives it back
    assert await held.fetchval("SELECT 1") == 1
    raw = held._con  # the connection under the pool's proxy
    assert raw is not None
    loop = asyncio.get_running_loop()
    began = loop.time()
    with caplog.at_level(logging.WARNING, logger="hotmesh.store"):
        await asyncio.wait_for(store.close(), 10)
    assert loop.time() - began < 5
    assert "still in use 0.5 s after close (1 when it began): terminated" in (
        caplog.text
    )
    # the connection it held is closed
    assert raw.is_closed()


async def test_close_with_every_connection_back_is_quiet(
    pg_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = await PostgresStore.open(pg_dsn, "hotmesh", pool_size=4)
    async with store._pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
    with caplog.at_level(logging.WARNING, logger="hotmesh.store"):
        await store.close()
    assert "still in use" not in caplog.text
