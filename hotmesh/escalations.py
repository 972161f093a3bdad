"""Human-in-the-loop escalations: list, claim, release and resolve.

A hook with an ``escalation:`` block opens a ``pending`` row in the
``escalations`` table when it starts waiting. Claiming assigns it for a while
(the row stays ``pending``: an expired claim is free again); resolving marks it
``resolved`` and resumes the hook with the resolver's payload, in one
transaction. A hook that times out marks its row ``expired``; an interrupted
job's rows become ``cancelled``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from hotmesh import errors

if TYPE_CHECKING:
    from hotmesh.engine.engine import Engine
    from hotmesh.store.postgres import PostgresStore

STATUSES = ("pending", "resolved", "cancelled", "expired")


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise errors.ConfigError(f"invalid escalation id {value!r}") from None


class Escalations:
    """The escalation queue of one app (``hm.escalations``)."""

    def __init__(self, engine: Engine, store: PostgresStore) -> None:
        self._engine = engine
        #: the listings live on the store itself, not on the engine's verbs
        self._store = store

    async def list(
        self, status: str | None = "pending", role: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Rows, most urgent first (lower ``priority`` first, then oldest)."""
        if status is not None and status not in STATUSES:
            raise errors.ConfigError(
                f"invalid escalation status {status!r}; use one of {', '.join(STATUSES)}"
            )
        engine = self._engine
        return await self._store.list_escalations(engine.app_id, status, role, limit)

    async def get(self, escalation_id: str) -> dict[str, Any] | None:
        """One row by id."""
        engine = self._engine
        return await self._store.get_escalation(engine.app_id, _uuid(escalation_id))

    async def get_by_signal_key(self, signal_key: str) -> dict[str, Any] | None:
        """The newest row for a signal key (for job-id keyed hooks: the job id)."""
        engine = self._engine
        return await self._store.escalation_by_key(engine.app_id, signal_key)

    async def claim(
        self, escalation_id: str, assignee: str, seconds: float = 300.0
    ) -> bool:
        """Assign a pending row to ``assignee``; ``False`` if someone else holds it."""
        if not assignee:
            raise errors.ConfigError("claim needs an assignee")
        engine = self._engine
        return await self._store.claim_escalation(
            engine.app_id, _uuid(escalation_id), assignee, float(seconds)
        )

    async def release(self, escalation_id: str) -> bool:
        """Unassign a pending row."""
        engine = self._engine
        return await self._store.release_escalation(engine.app_id, _uuid(escalation_id))

    async def resolve(
        self, escalation_id: str, payload: dict[str, Any] | None = None
    ) -> str | None:
        """Resolve a pending row and resume its hook with ``payload``.

        Returns the resumed job id, or ``None`` if the row was not pending.
        """
        return await self._engine.resolve_escalation(
            _uuid(escalation_id), dict(payload or {})
        )
