"""The time-skipping environment's statements (``timeskip.sql``): what the
database waits for, and moving its timers ahead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries


@dataclass(frozen=True)
class Pending:
    """What a database is waiting for (see ``timeskip.sql``: ``pending``)."""

    #: messages that can run now or are running
    busy: int
    #: seconds (of real time) until the next timer, if any
    message_in: float | None
    #: the earliest delayed start, if any
    start_at: datetime | None
    #: the earliest tick of an active schedule, if any
    tick_at: datetime | None


@mapped_verbs
class TimeSkip:
    """The time-skipping statements of one store (schema)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._q = queries(quote_schema(store.schema), "timeskip.sql")

    async def pending(self) -> Pending:
        """What the database waits for."""
        row = await self.store._pool.fetchrow(self._q["pending"])
        assert row is not None  # one row of sub-selects, always
        return Pending(row["busy"], row["message_in"], row["start_at"], row["tick_at"])

    async def shift(self, seconds: float) -> list[tuple[str, str]]:
        """Bring every timer ``seconds`` closer: the ``(app, stream)`` pairs moved."""
        rows = await self.store._pool.fetch(self._q["shift"], seconds)
        return [(str(r["app_id"]), str(r["stream"])) for r in rows]
