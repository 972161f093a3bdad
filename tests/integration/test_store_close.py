"""Closing the store, and stopping a HotMesh, return even when a connection is
never given back."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotmesh import HotMesh
from hotmesh.store import postgres
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.records import ENGINE_STREAM


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


async def test_stop_returns_when_connections_never_given_back_exhaust_the_pool(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every connection the pool can still give is held by a task that never
    gives it back: the claim loop's claim (waiting), the registry row and the
    release of claims wait for one, and the pool's close (which would end
    them) comes after them. Stop used to hang there for ever."""
    monkeypatch.setattr(postgres, "CLOSE_GRACE", 0.5)
    hm = await HotMesh.init(
        "exhausted", engine={"connection": {"dsn": pg_dsn}, "pool_size": 4}
    )
    keeper, pool = hm.store.keeper, hm.store._pool
    held = [await asyncio.wait_for(keeper.take(), 5) for _ in range(keeper.keep)]
    # (a timeout only if a claim took the last one first: exhausted all the same)
    while pool.get_size() < pool.get_max_size() or pool.get_idle_size():
        try:
            held.append(await pool.acquire(timeout=2))
        except TimeoutError:
            break
    assert len(held) > keeper.keep
    hm._consumers[ENGINE_STREAM].wake()
    async with asyncio.timeout(5):  # its claim waits for a connection
        while not keeper.waiters:
            await asyncio.sleep(0)  # (the claim loop's turn: no event to wait on)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with caplog.at_level(logging.WARNING):
        await asyncio.wait_for(hm.stop(grace=1), 20)
    assert loop.time() - began < 10
    assert "terminated" in caplog.text  # the held connections were ended
    assert all(conn._con is None or conn._con.is_closed() for conn in held)
