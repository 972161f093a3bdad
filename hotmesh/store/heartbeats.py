"""MemFlow activity heartbeats in PostgreSQL (``heartbeats.sql``, migration 0026):
the details of an activity's last heartbeat, for its next attempt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries


@dataclass(frozen=True)
class BeatAnswer:
    """What a heartbeat learns: whether its workflow still runs, and whether
    a cancellation waits in the workflow's inbox."""

    running: bool
    cancel: bool


@mapped_verbs
class HeartbeatRows:
    """The heartbeat statements of one store (schema)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._q = queries(quote_schema(store.schema), "heartbeats.sql")

    async def write(
        self,
        app_id: str,
        job_id: str,
        marker: str,
        details: list[Any],
        attempt: int,
    ) -> BeatAnswer:
        """Record the details of attempt ``attempt`` of activity ``marker``."""
        row = await self.store._pool.fetchrow(
            self._q["heartbeat_write"], app_id, job_id, marker, details, attempt
        )
        return BeatAnswer(bool(row and row["running"]), bool(row and row["cancel"]))

    async def read(
        self, app_id: str, job_id: str, marker: str
    ) -> tuple[int, list[Any]] | None:
        """``(attempt, details)`` of the activity's last heartbeat, None if none."""
        row = await self.store._pool.fetchrow(
            self._q["heartbeat_read"], app_id, job_id, marker
        )
        if row is None:
            return None
        details = row["details"]
        return int(row["attempt"]), list(details) if isinstance(details, list) else []
