"""Flow-control options, checked: topic and per-key concurrency, rate limits,
priorities and dedupe windows. Pure: no I/O.

The same checks serve ``hm.set_topic_limits``, ``pub``, MemFlow's
``Worker.create`` options and (through the compiler) a worker
activity's ``concurrency``/``rate``/``priority`` in a manifest. Each bad value
is a ``ConfigError`` naming the option (``rate.period``), with the closest
known name for an unknown key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hotmesh import errors

#: PostgreSQL smallint, the messages.priority column
PRIORITY_RANGE = (-32768, 32767)
#: rate periods and dedupe windows: longer is surely a typo
MAX_PERIOD = 366 * 86400.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_CONCURRENCY_KEYS = ("limit", "key")
_RATE_KEYS = ("limit", "period", "key")


@dataclass(frozen=True, slots=True)
class TopicLimits:
    """What one worker topic allows across every process (a flow_limits row)."""

    concurrency: int | None = None
    key_concurrency: int | None = None
    rate_limit: int | None = None
    rate_period: float | None = None
    rate_keyed: bool = False

    @property
    def empty(self) -> bool:
        """No limit at all (setting it removes the topic's row)."""
        return (
            self.concurrency is None
            and self.key_concurrency is None
            and (self.rate_limit is None)
        )


@dataclass(frozen=True, slots=True)
class Keys:
    """The key expressions of keyed limits (mapping expressions, or plain text)."""

    concurrency: Any = None
    rate: Any = None


def _fail(where: str, name: str, problem: str) -> errors.ConfigError:
    prefix = f"{where}: " if where else ""
    return errors.ConfigError(f"{prefix}'{name}' {problem}")


def unknown(
    given: Mapping[str, Any], known: tuple[str, ...], where: str, name: str = ""
) -> None:
    """Refuse a key outside ``known``, with the closest known name."""
    for key in given:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            field = f"{name}.{key}" if name else str(key)
            allowed = ", ".join(known)
            raise _fail(where, field, f"is not an option{hint}; use {allowed}")


def positive_int(value: Any, where: str, name: str) -> int:
    """A limit: an integer of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(where, name, f"must be an integer of at least 1, not {value!r}")
    return value


def duration(value: Any, where: str, name: str) -> float:
    """``90``, ``0.5``, ``"500ms"``, ``"10s"``, ``"1m"``, ``"2h"``, ``"1d"`` -> seconds (> 0)."""
    if isinstance(value, bool):
        seconds = None
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    else:
        seconds = None
    if seconds is None or not seconds > 0 or seconds > MAX_PERIOD:
        raise _fail(
            where,
            name,
            f"must be a duration above 0 and at most 366 days (seconds, or text "
            f"like '500ms', '10s', '1m', '2h', '1d'), not {value!r}",
        )
    return seconds


def key_expr(value: Any, where: str, name: str) -> Any:
    """A key option: a non-empty mapping expression (or ``None``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(
            where,
            name,
            f"must be a non-empty mapping expression like '{{$job.data.customerId}}', "
            f"not {value!r}",
        )
    return value


def concurrency(value: Any, where: str = "") -> tuple[int | None, int | None, Any]:
    """``N`` or ``{"limit": N}`` (whole topic) or ``{"limit": N, "key": expr}``
    (per key) -> ``(topic limit, per-key limit, key expression)``."""
    if value is None:
        return None, None, None
    if isinstance(value, Mapping):
        unknown(value, _CONCURRENCY_KEYS, where, "concurrency")
        if "limit" not in value:
            raise _fail(where, "concurrency.limit", "is required")
        limit = positive_int(value["limit"], where, "concurrency.limit")
        key = key_expr(value.get("key"), where, "concurrency.key")
        return (None, limit, key) if key is not None else (limit, None, None)
    return positive_int(value, where, "concurrency"), None, None


def rate(value: Any, where: str = "") -> tuple[int | None, float | None, Any]:
    """``{"limit": N, "period": "1m", "key"?: expr}`` -> ``(limit, seconds, key)``."""
    if value is None:
        return None, None, None
    if not isinstance(value, Mapping):
        raise _fail(
            where, "rate", f"must be {{'limit': N, 'period': '1m'}}, not {value!r}"
        )
    unknown(value, _RATE_KEYS, where, "rate")
    for name in ("limit", "period"):
        if name not in value:
            raise _fail(where, f"rate.{name}", "is required")
    limit = positive_int(value["limit"], where, "rate.limit")
    period = duration(value["period"], where, "rate.period")
    return limit, period, key_expr(value.get("key"), where, "rate.key")


def limits(
    concurrency_value: Any = None, rate_value: Any = None, where: str = ""
) -> tuple[TopicLimits, Keys]:
    """Both options checked, as a topic's limits plus the key expressions."""
    topic_limit, key_limit, ckey = concurrency(concurrency_value, where)
    rate_limit, period, rkey = rate(rate_value, where)
    return (
        TopicLimits(topic_limit, key_limit, rate_limit, period, rkey is not None),
        Keys(ckey, rkey),
    )


def priority(value: Any, where: str = "", name: str = "priority") -> int:
    """A priority: an integer within PostgreSQL's smallint (higher is claimed first)."""
    low, high = PRIORITY_RANGE
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise _fail(
            where, name, f"must be an integer from {low} to {high}, not {value!r}"
        )
    return value


def key_text(value: Any) -> str | None:
    """A resolved key as stored (text), or ``None`` when it cannot be a key."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def key_only(value: Any) -> bool:
    """``{"key": expr}`` without a limit: the worker activity's work carries
    this key for a keyed limit set elsewhere (``set_topic_limits``, MemFlow)."""
    return isinstance(value, Mapping) and set(value) == {"key"}


def literal_topic(config: Mapping[str, Any]) -> str | None:
    """A worker activity's topic when it is plain text (no mapping expression)."""
    topic = config.get("subtype") if config.get("subtype") is not None else None
    topic = topic if topic is not None else config.get("topic")
    if isinstance(topic, str) and topic and "{" not in topic:
        return topic
    return None


def declared(configs: list[tuple[str, Mapping[str, Any]]]) -> dict[str, TopicLimits]:
    """The topic limits worker activities declare: ``(activity id, config)`` ->
    ``{topic: limits}`` (the compiler has refused conflicts and dynamic topics)."""
    out: dict[str, TopicLimits] = {}
    for aid, config in configs:
        if not any(_limiting(config.get(name)) for name in ("concurrency", "rate")):
            continue
        topic = literal_topic(config)
        if topic is not None:
            where = f"activity '{aid}'"
            conc, rate_value = (
                _limit_of(config.get(n)) for n in ("concurrency", "rate")
            )
            out[topic] = limits(conc, rate_value, where)[0]
    return out


def _limiting(value: Any) -> bool:
    return value is not None and not key_only(value)


def _limit_of(value: Any) -> Any:
    """A limit option as declared, or ``None`` for a key-only one."""
    return None if key_only(value) else value
