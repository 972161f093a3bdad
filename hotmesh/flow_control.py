"""``HotMesh``'s flow-control verbs: topic limits set through the API or
declared by the active manifest, and the checks of ``pub``'s flow options.

Every limit lives in the database (``flow_limits``) and every process's
claims obey it; see ``docs/concepts/schedules-and-limits.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotmesh import errors, flow
from hotmesh.store.flow import FlowRows
from hotmesh.store.records import worker_stream

if TYPE_CHECKING:
    from hotmesh.compiler import Plan
    from hotmesh.store.postgres import PostgresStore

#: seconds a dedupe key holds when pub is given no ``dedupe_window``
DEFAULT_DEDUPE_WINDOW = 300.0
_TOPIC_OPTIONS = ("concurrency", "rate")


class FlowControl:
    """The limits of one app's worker topics."""

    def __init__(self, store: PostgresStore, app_id: str) -> None:
        self.app_id = app_id
        self.rows = FlowRows(store)

    async def set(self, topic: str, options: dict[str, Any]) -> flow.TopicLimits:
        """Set ``topic``'s limits from ``concurrency=``/``rate=`` (none: remove them)."""
        where = f"set_topic_limits('{topic}')"
        flow.unknown(options, _TOPIC_OPTIONS, where)
        limits, keys = flow.limits(
            options.get("concurrency"), options.get("rate"), where
        )
        if keys.concurrency is not None or keys.rate is not None:
            # The key is resolved from each job when its work message is sent,
            # so it belongs to the activity that sends it.
            raise errors.ConfigError(
                f"{where}: 'key' is declared where the work is sent (a worker "
                "activity's concurrency/rate in the manifest), not on the topic"
            )
        await self.rows.set(self.app_id, worker_stream(topic), limits)
        return limits

    async def put(self, topic: str, limits: flow.TopicLimits) -> None:
        """Set ``topic``'s limits, already checked (MemFlow's task queues)."""
        await self.rows.set(self.app_id, worker_stream(topic), limits)

    async def list(self) -> dict[str, dict[str, Any]]:
        """``{topic: {concurrency, key_concurrency, rate, source, running, waiting}}``."""
        out: dict[str, dict[str, Any]] = {}
        for row in await self.rows.list(self.app_id):
            stream = str(row["stream"])
            topic = stream[2:] if stream.startswith("w:") else stream
            rate = None
            if row["rate_limit"] is not None:
                rate = {
                    "limit": row["rate_limit"],
                    "period": row["rate_period"],
                    "keyed": row["rate_keyed"],
                }
            out[topic] = {
                "concurrency": row["concurrency"],
                "key_concurrency": row["key_concurrency"],
                "rate": rate,
                "source": row["source"] or "api",
                "running": row["running"],
                "waiting": row["waiting"],
            }
        return out

    async def activate(self, plan: Plan) -> None:
        """Make the limits ``plan``'s worker activities declare the manifest's limits."""
        declared = flow.declared(
            [
                (aid, act.config)
                for aid, act in plan.activities.items()
                if act.type == "worker"
            ]
        )
        await self.rows.declare(
            self.app_id,
            plan.version,
            {worker_stream(topic): limits for topic, limits in declared.items()},
        )


def pub_options(
    priority: Any, dedupe_key: Any, dedupe_window: Any
) -> tuple[int | None, str | None, float]:
    """``pub``'s flow options checked: ``(priority, dedupe key, window seconds)``."""
    checked = None if priority is None else flow.priority(priority, "pub")
    if dedupe_key is not None and (not isinstance(dedupe_key, str) or not dedupe_key):
        raise errors.ConfigError(
            f"pub: 'dedupe_key' must be a non-empty string, not {dedupe_key!r}"
        )
    if dedupe_window is not None and dedupe_key is None:
        raise errors.ConfigError("pub: 'dedupe_window' needs a 'dedupe_key'")
    window = (
        DEFAULT_DEDUPE_WINDOW
        if dedupe_window is None
        else flow.duration(dedupe_window, "pub", "dedupe_window")
    )
    return checked, dedupe_key, window
