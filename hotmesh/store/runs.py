"""The statements of workflow runs (``runs.sql``): archiving a run a reset replaces."""

from __future__ import annotations

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries
from hotmesh.store.tx import StoreTx


@mapped_verbs
class RunRows:
    """The run statements of one store (schema)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._q = queries(quote_schema(store.schema), "runs.sql")

    async def archive(
        self, tx: StoreTx, app_id: str, job_id: str, gid: str, new_id: str
    ) -> bool:
        """Rename finished job ``job_id`` (generation ``gid``) to ``new_id`` in
        ``tx``; False when it is not there, runs, or is another generation."""
        row = await tx._conn.fetchval(
            self._q["archive_run"], app_id, job_id, gid, new_id
        )
        return row is not None
