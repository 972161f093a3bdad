"""Flow-limit rows in PostgreSQL (``flow.sql``): set, clear and list the
limits of worker streams. The claims that obey them are ``claim_flow``
(migration 0010)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh.flow import Keys, TopicLimits
from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries


@mapped_verbs
class FlowRows:
    """The flow-limit statements of one store (schema)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._q = queries(quote_schema(store.schema), "flow.sql")

    def _args(self, limits: TopicLimits) -> tuple[Any, ...]:
        return (
            limits.concurrency,
            limits.key_concurrency,
            limits.rate_limit,
            limits.rate_period,
            limits.rate_keyed,
        )

    async def set(
        self,
        app_id: str,
        stream: str,
        limits: TopicLimits,
        source: str = "",
        keys: Keys | None = None,
    ) -> None:
        """Set (or, for empty limits, remove) one stream's limits, with the
        key expressions of its keyed limits when set through the API."""
        keys = keys or Keys()
        async with self.store.transaction() as tx:
            conn = tx._conn  # same package: the transaction's connection
            if limits.empty:
                await conn.execute(self._q["clear_limits"], app_id, stream)
            else:
                await conn.execute(
                    self._q["set_limits"], app_id, stream, *self._args(limits), source,
                    keys.concurrency, keys.rate,
                )  # fmt: skip

    async def declare(
        self, app_id: str, version: str, streams: Mapping[str, TopicLimits]
    ) -> None:
        """Make ``streams`` the manifest-declared limits (of ``version``), in one
        transaction: limits an earlier version declared elsewhere go."""
        async with self.store.transaction() as tx:
            conn = tx._conn
            await conn.execute(self._q["clear_manifest_limits"], app_id, list(streams))
            for stream, limits in streams.items():
                await conn.execute(
                    self._q["set_limits"], app_id, stream, *self._args(limits), version,
                    None, None,
                )  # fmt: skip

    async def key_exprs(self, app_id: str) -> tuple[dict[str, Keys], frozenset[str]]:
        """The key expressions of API-set keyed limits, by stream, and every
        stream with limits of any kind."""
        async with self.store.transaction() as tx:
            rows = await tx._conn.fetch(self._q["key_exprs"], app_id)
        keys = {
            r["stream"]: Keys(r["ckey_expr"], r["rkey_expr"])
            for r in rows
            if r["ckey_expr"] is not None or r["rkey_expr"] is not None
        }
        return keys, frozenset(r["stream"] for r in rows)

    async def list(self, app_id: str) -> list[dict[str, Any]]:
        """Every limited stream of the app, with its running and waiting counts."""
        async with self.store.transaction() as tx:
            rows = await tx._conn.fetch(self._q["list_limits"], app_id)
        return [dict(r) for r in rows]
