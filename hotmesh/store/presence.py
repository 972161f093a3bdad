"""The process registry's statements (``presence.sql``): each running HotMesh
upserts its row and its finished-jobs tally every ``heartbeat`` seconds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries


@dataclass(frozen=True, slots=True)
class Beat:
    """What one beat says of a process."""

    owner: str
    app_id: str
    host: str
    pid: int
    version: str
    engine: bool
    topics: Sequence[str]
    held: int
    every: float


@mapped_verbs
class PresenceRows:
    """The registry's statements on one store (schema)."""

    def __init__(self, store: PostgresStore) -> None:
        self._pool = store._pool  # same package: one statement each, autocommitted
        self._q = queries(quote_schema(store.schema), "presence.sql")

    async def beat(
        self, beat: Beat, minutes: Sequence[tuple[datetime, int, int]]
    ) -> None:
        """Upsert the process's row and add ``(minute, completed, failed)`` counts."""
        ordered = sorted(minutes)
        await self._pool.execute(
            self._q["presence_beat"],
            beat.owner,
            beat.app_id,
            beat.host,
            beat.pid,
            beat.version,
            beat.engine,
            list(beat.topics),
            beat.held,
            beat.every,
            [m[0] for m in ordered],
            [m[1] for m in ordered],
            [m[2] for m in ordered],
        )

    async def prune(self) -> None:
        """Delete rows of processes silent for an hour and tallies over a day old."""
        await self._pool.execute(self._q["presence_prune"])

    async def gone(self, owner: str) -> None:
        """Delete the row of a process that stopped."""
        await self._pool.execute(self._q["presence_gone"], owner)
