"""The options of ``HotMesh.init(engine={...})``: checked once, then frozen.

Every key is known: a misspelt one (``"conection"``) is a ``ConfigError``
with "did you mean", never a silent fall-back to another database. The same
check (``check_keys``) guards MemFlow's option dicts and keyword sets.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hotmesh import errors
from hotmesh.clock import SYSTEM, Clock
from hotmesh.config import mask_dsn, validate_name
from hotmesh.engine.commit import MAX_CYCLES
from hotmesh.engine.guards import MAX_STEPS
from hotmesh.engine.payload import MAX_DATA_BYTES
from hotmesh.graph.spelling import closest

#: seconds the rows of an expired job are kept (for reads, history and
#: debugging) before the engines delete them; ``retention=None`` keeps them
DEFAULT_RETENTION = 7 * 86400.0


def check_keys(given: Iterable[str], known: Iterable[str], where: str) -> None:
    """``ConfigError`` naming the first key of ``given`` that ``known`` lacks.

    The message suggests the known key within a small edit distance, else
    lists every known key.
    """
    allowed = sorted(known)
    for key in given:
        if key in allowed:
            continue
        hint = closest(str(key), allowed)
        if hint is not None:
            raise errors.ConfigError(
                f"{where}: unknown option {key!r} (did you mean {hint!r}?)"
            )
        raise errors.ConfigError(
            f"{where}: unknown option {key!r} (known: {', '.join(allowed)})"
        )


def _number(where: str, value: Any, kind: type, minimum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise errors.ConfigError(
            f"{where} must be a number, not {type(value).__name__} {value!r}"
        )
    if kind is int and value != int(value):
        raise errors.ConfigError(f"{where} must be a whole number, not {value!r}")
    if value < minimum:
        raise errors.ConfigError(f"{where} must be at least {minimum:g}, not {value!r}")
    return kind(value)


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """What one ``HotMesh`` runs with (``docs/reference/python-api.md`` lists each)."""

    #: explicit DSN (``engine={"connection": {"dsn": ...}}`` or ``init(dsn=...)``);
    #: ``None``: ``HOTMESH_DSN``, ``DATABASE_URL``, then the embedded server
    dsn: str | None = None
    schema: str = "hotmesh"
    pool_size: int = 10
    capacity: int = 64
    lease: float = 30.0
    poll: float = 2.0
    signal_ttl: float = 600.0
    signal_max_pending: int = 100
    signal_max_bytes: int = 1 << 20
    #: bytes (as JSON text) of one value entering a job: pub data, signal and
    #: hook data, a worker's answer (issue 20: large data held the event loop)
    max_data_bytes: int = MAX_DATA_BYTES
    state_cache: int = 10_000
    retention: float | None = DEFAULT_RETENTION
    prune_interval: float = 60.0
    #: background pruning's pacing (upkeep.Pacing): rows a statement, seconds
    #: of pause per second of deleting, and the longest pause (issue 21)
    prune_batch: int = 200
    prune_pace: float = 4.0
    prune_max_pause: float = 5.0
    heartbeat: float = 10.0
    poison_threshold: int = 5
    max_cycles: int = MAX_CYCLES
    max_steps: int = MAX_STEPS
    clock: Clock = SYSTEM
    schedules: bool = True
    #: keep long-lived objects out of full garbage collections (engine/heap.py)
    gc_freeze: bool = True
    #: commit the steps of several jobs that are ready together in one
    #: transaction (store/group.py, issue 21)
    group_commit: bool = True

    def __post_init__(self) -> None:
        validate_name(self.schema, "schema name")

    @classmethod
    def from_dict(
        cls,
        given: Mapping[str, Any] | None,
        *,
        dsn: str | None = None,
        schema: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> EngineOptions:
        """Check ``engine={...}`` (plus ``init``'s ``dsn=``/``schema=``) once.

        The schema comes from ``schema=``, then the dict's ``schema``, then
        ``HOTMESH_SCHEMA`` (as the CLI reads it), then ``hotmesh``.
        """
        options = dict(given or {})
        check_keys(options, {*_FIELDS, "connection"} - {"dsn"}, "engine")
        values: dict[str, Any] = {}
        connection = options.pop("connection", None) or {}
        if not isinstance(connection, Mapping):
            raise errors.ConfigError(
                f"engine.connection must be a dict such as {{'dsn': ...}}, "
                f"not {type(connection).__name__}"
            )
        check_keys(connection, {"dsn"}, "engine.connection")
        values["dsn"] = dsn if dsn is not None else connection.get("dsn")
        if values["dsn"] is not None and not isinstance(values["dsn"], str):
            raise errors.ConfigError("engine.connection.dsn must be a string")
        source = os.environ if env is None else env
        chosen = schema if schema is not None else options.pop("schema", None)
        options.pop("schema", None)
        if chosen is None:
            chosen = source.get("HOTMESH_SCHEMA") or None
        if chosen is not None:  # "" too: refused as a name, not replaced
            values["schema"] = chosen
        for key, value in options.items():
            values[key] = _checked(key, value)
        return cls(**values)

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.dsn:
            shown["dsn"] = mask_dsn(self.dsn)
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"EngineOptions({inner})"


_FIELDS = {f.name for f in dataclasses.fields(EngineOptions)}
_INTS = {
    "pool_size": 2,
    "capacity": 1,
    "state_cache": 0,
    "poison_threshold": 1,
    "max_steps": 1,
    "signal_max_pending": 1,
    "signal_max_bytes": 1,
    "max_data_bytes": 1,
    "prune_batch": 1,
}
_FLOATS = {
    "lease": 0.1,
    "poll": 0.001,
    "signal_ttl": 0.0,
    "prune_interval": 0.001,
    "prune_pace": 0.0,
    "prune_max_pause": 0.0,
    "heartbeat": 0.01,
}


def _checked(key: str, value: Any) -> Any:
    where = f"engine.{key}"
    if key in _INTS:
        return _number(where, value, int, _INTS[key])
    if key == "max_cycles":
        return _number(where, value, int, 1)
    if key in _FLOATS:
        return _number(where, value, float, _FLOATS[key])
    if key == "retention":
        return None if value is None else _number(where, value, float, 0)
    if key in ("schedules", "gc_freeze", "group_commit"):
        if not isinstance(value, bool):
            raise errors.ConfigError(f"{where} must be True or False, not {value!r}")
        return value
    if key == "clock":
        if value is None:
            return SYSTEM
        if not callable(getattr(value, "now", None)) or not callable(
            getattr(value, "sleep_until", None)
        ):
            raise errors.ConfigError(
                f"{where} must be a hotmesh.clock.Clock (now() and sleep_until()), "
                f"not {type(value).__name__}"
            )
        return value
    raise AssertionError(key)  # pragma: no cover - check_keys ran first


__all__ = ["DEFAULT_RETENTION", "EngineOptions", "check_keys"]
