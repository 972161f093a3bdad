"""Connections taken from the pool once and kept for the hot statements.

asyncpg's acquire/release (a proxy, a timeout, a shielded release task) costs
about as much CPU as a one-statement step. The keeper takes up to ``keep``
connections from the pool and hands them out itself, waiters served in
arrival order; the rest of the pool serves everything else. A connection
that failed goes back to the pool, which resets or replaces it.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import asyncpg

from hotmesh.store.faults import connection_lost


class Pool(Protocol):
    """What the keeper needs of a pool (``asyncpg.Pool`` in production)."""

    def acquire(self) -> Any:
        """An awaitable giving a connection."""

    async def release(self, connection: Any) -> None:
        """Take a connection back (the pool resets or replaces it)."""

    async def expire_connections(self) -> None:
        """Replace every connection on its next use."""


def usable(conn: Any) -> bool:
    """Whether a kept connection can run the next statement as it is."""
    try:
        return not conn.is_closed() and not conn.is_in_transaction()
    except asyncpg.InterfaceError:  # already detached from its pool
        return False


class ConnectionKeeper:
    """Up to ``keep`` pooled connections, handed out in arrival order.

    ``keep <= 0`` keeps none: every ``take`` acquires from the pool.
    """

    def __init__(self, pool: Pool, keep: int) -> None:
        self.pool = pool
        self.keep = keep
        #: connections taken from the pool and not yet given back to it
        self.owned = 0
        self.idle: list[Any] = []
        self.waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        #: once set, every connection given back returns to the pool
        self.closing = False

    async def take(self) -> Any:
        """A kept connection (in arrival order), or the pool's when none is kept."""
        while True:
            while self.idle:
                conn = self.idle.pop()
                if usable(conn):
                    return conn
                # closed while idle (asyncpg then hands it back to the pool itself)
                self.owned -= 1
                await self.pool.release(conn)
            if self.owned < self.keep or self.keep <= 0:
                self.owned += 1
                try:
                    return await self.pool.acquire()
                except BaseException:
                    self.owned -= 1
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over too late
                    if waiter.result() is None:
                        self._hand_over(None)
                    else:
                        await self.give(waiter.result(), True)
                raise
            if conn is not None:
                return conn
            # None: a kept connection was dropped; take its place from the pool

    def _hand_over(self, conn: Any) -> bool:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def give(self, conn: Any, clean: bool) -> None:
        """Pass ``conn`` to the next waiter or keep it; a connection that failed
        (or any, once closing) goes back to the pool, which resets or replaces it."""
        if clean and not self.closing and self.keep > 0 and usable(conn):
            if not self._hand_over(conn):
                self.idle.append(conn)
            return
        self.owned -= 1
        await self.pool.release(conn)
        self._hand_over(None)

    async def release_idle(self) -> None:
        """Give every idle kept connection back to the pool."""
        idle, self.idle = self.idle, []
        for conn in idle:
            self.owned -= 1
            await self.pool.release(conn)
        for _ in idle:
            self._hand_over(None)

    async def lost(self, conn: Any) -> None:
        """``conn`` broke: assume the others did too (a restart or a network
        cut) and replace them all on next use, instead of failing once per
        stale connection."""
        await self.give(conn, False)
        await self.pool.expire_connections()
        await self.release_idle()  # the pool closes them: they are expired

    async def statement(self, query: str, *args: Any) -> list[Any]:
        """One autocommitted statement on a kept connection."""
        conn = await self.take()
        clean = False
        try:
            rows: list[Any] = await conn.fetch(query, *args)
            clean = True
            return rows
        except Exception as exc:
            if connection_lost(exc):
                conn, lost = None, conn
                await self.lost(lost)
            else:
                clean = True  # the statement failed, not the connection (give checks)
            raise
        finally:
            if conn is not None:
                await self.give(conn, clean)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A kept connection for a block (a transaction), given back after it."""
        conn = await self.take()
        clean = False
        try:
            yield conn
            clean = True
        except Exception as exc:
            if connection_lost(exc):
                conn, lost = None, conn
                await self.lost(lost)
            else:
                clean = True  # rolled back: the connection is idle again (give checks)
            raise
        finally:
            if conn is not None:
                await self.give(conn, clean)
