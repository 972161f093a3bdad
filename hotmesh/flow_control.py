"""``HotMesh``'s flow-control verbs: topic limits set through the API or
declared by the active manifest, and the checks of ``pub``'s flow options.

Every limit lives in the database (``flow_limits``) and every process's
claims obey it; see ``docs/concepts/schedules-and-limits.md``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from hotmesh import errors, flow, ids
from hotmesh.engine import notes
from hotmesh.expr import compile as compile_expr
from hotmesh.store.flow import FlowRows
from hotmesh.store.records import worker_stream
from hotmesh.telemetry import logs

if TYPE_CHECKING:
    from hotmesh.compiler import Plan
    from hotmesh.engine.engine import Engine
    from hotmesh.store.postgres import PostgresStore

log = logs.get("hotmesh.flow")
#: seconds a dedupe key holds when pub is given no ``dedupe_window``
DEFAULT_DEDUPE_WINDOW = 300.0
_TOPIC_OPTIONS = ("concurrency", "rate")


class FlowControl:
    """The limits of one app's worker topics."""

    def __init__(self, store: PostgresStore, app_id: str) -> None:
        self.app_id = app_id
        self.store = store
        self.rows = FlowRows(store)
        # reads of the topic keys run one after another, in the order asked,
        # so an older read never finishes last and puts back stale keys
        self._reading = asyncio.Lock()

    async def set(
        self, topic: str, options: dict[str, Any], engine: Engine
    ) -> flow.TopicLimits:
        """Set ``topic``'s limits from ``concurrency=``/``rate=`` (none: remove
        them); a key is a mapping expression every process's engine resolves
        when it sends work to the topic, so each is told to read them again."""
        where = f"set_topic_limits('{topic}')"
        flow.unknown(options, _TOPIC_OPTIONS, where)
        limits, keys = flow.limits(
            options.get("concurrency"), options.get("rate"), where
        )
        for name, text in (
            ("concurrency.key", keys.concurrency),
            ("rate.key", keys.rate),
        ):
            if text is not None:
                _check_key(text, where, name)
        await self.rows.set(self.app_id, worker_stream(topic), limits, "", keys)
        await self.read_keys(engine)
        note = notes.LimitsChanged(self.app_id, engine.owner)
        await self.store.notify(notes.encode(note))
        return limits

    async def read_keys(self, engine: Engine) -> None:
        """Give ``engine`` the key expressions of API-set keyed limits."""
        try:
            async with self._reading:
                keys, limited = await self.rows.key_exprs(self.app_id)
                engine.topic_keys, engine.flow_streams = keys, limited
        except Exception as exc:  # a background refresh (also while stopping):
            # the keys are read again when the LISTEN connection comes back
            log.warning("could not read the topic keys of app %s: %s", self.app_id, exc)

    async def put(self, topic: str, limits: flow.TopicLimits) -> None:
        """Set ``topic``'s limits, already checked (MemFlow's task queues)."""
        await self.rows.set(self.app_id, worker_stream(topic), limits)

    async def list(self) -> dict[str, dict[str, Any]]:
        """``{topic: {concurrency, key_concurrency, rate, source, running, waiting}}``,
        with ``concurrency_key`` and ``rate.key`` for keys set through the API."""
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
                    **({"key": row["rkey_expr"]} if row["rkey_expr"] else {}),
                }
            out[topic] = {
                "concurrency": row["concurrency"],
                "key_concurrency": row["key_concurrency"],
                **({"concurrency_key": row["ckey_expr"]} if row["ckey_expr"] else {}),
                "rate": rate,
                "source": row["source"] or "api",
                "running": row["running"],
                "waiting": row["waiting"],
            }
        return out

    async def activate(self, plan: Plan, engine: Engine) -> None:
        """Make the limits ``plan``'s worker activities declare the manifest's
        limits (they replace API-set keys: ``engine`` reads them again)."""
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
        await self.read_keys(engine)


class FlowVerbs:
    """The flow-limit verbs of the ``HotMesh`` client (a mixin, as JobControl)."""

    engine: Engine
    flow: FlowControl

    async def set_topic_limits(self, topic: str, **options: Any) -> None:
        """Limit worker ``topic`` across every process: ``concurrency=N`` or
        ``{"limit": N, "key": expr}`` and/or ``rate={"limit": N, "period":
        "1m", "key"?: expr}``. No option removes its limits."""
        await self.flow.set(ids.check(topic, "topic"), options, self.engine)
        self.engine.limited_streams.clear()  # learnt again from the next writes

    async def topic_limits(self) -> dict[str, dict[str, Any]]:
        """Every limited topic with its limits and its running/waiting counts."""
        return await self.flow.list()


def _check_key(text: str, where: str, name: str) -> None:
    """A topic's key: a mapping expression that reads the job (compiled now)."""
    if "{" not in text:
        raise errors.ConfigError(
            f"{where}: '{name}' must be a mapping expression that reads the job, "
            f"like '{{$job.data.customerId}}', not {text!r} (plain text would be "
            "one key for every message)"
        )
    try:
        compile_expr(text)
    except errors.ExpressionError as exc:
        first = str(exc).splitlines()[0]  # the rest points at the column
        raise errors.ConfigError(f"{where}: '{name}' {text!r}: {first}") from None


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
