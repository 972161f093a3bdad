"""The LISTEN connection: one dedicated connection per store, re-established
with back-off when it drops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg

from hotmesh.config import mask_dsn
from hotmesh.telemetry import logs

log = logs.get("hotmesh.store")


class Listener:
    """Calls ``callback(payload)`` for every NOTIFY on ``channel``."""

    def __init__(self, dsn: str, channel: str) -> None:
        self._dsn = dsn
        self.channel = channel
        self._conn: asyncpg.Connection | None = None
        self._on_notify: Callable[[str], None] = lambda payload: None
        self._on_reconnect: Callable[[], None] = lambda: None
        self._relisten: asyncio.Task[None] | None = None
        self._closing = False

    async def start(
        self,
        callback: Callable[[str], None],
        on_reconnect: Callable[[], None] = lambda: None,
    ) -> None:
        """Listen; if the connection drops (a database restart, a network cut),
        it is re-established with back-off, then ``on_reconnect()`` is called:
        notifications sent meanwhile are lost, so the caller re-checks its state."""
        self._on_notify = callback
        self._on_reconnect = on_reconnect
        self._conn = await self._listen_once()

    async def close(self) -> None:
        """Stop listening (and stop re-connecting)."""
        self._closing = True
        if self._relisten is not None:
            self._relisten.cancel()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _listen_once(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self._dsn)
        callback = self._on_notify
        try:
            await conn.add_listener(
                self.channel, lambda _c, _p, _ch, payload: callback(payload)
            )
        except BaseException:
            # cut or cancelled (close() during a re-listen) between connect and
            # LISTEN: nothing else holds the connection, so close it here
            conn.terminate()
            raise
        conn.add_termination_listener(self._lost)
        return conn

    def _lost(self, conn: Any) -> None:
        conn.terminate()  # mark it closed (it is gone); else asyncpg warns on GC
        if self._closing or self._relisten is not None:
            return
        self._conn = None
        self._relisten = asyncio.get_running_loop().create_task(self._relisten_loop())

    async def _relisten_loop(self) -> None:
        delay = 0.05
        try:
            while not self._closing:
                try:
                    conn = await self._listen_once()
                    if self._closing:
                        await conn.close()
                        return
                    self._conn = conn
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning(
                        "LISTEN connection to %s lost (%s); retrying in %.2fs",
                        mask_dsn(self._dsn),
                        exc,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                log.info("LISTEN connection re-established")
                self._on_reconnect()
                return
        finally:
            self._relisten = None
