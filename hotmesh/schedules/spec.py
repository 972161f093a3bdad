"""A schedule's options, validated once into a frozen ``ScheduleSpec`` (pure, no I/O).

Cron expressions are parsed by croniter (five fields, an optional leading
seconds field as upstream's cron-parser reads it, and the ``@daily``-style
aliases); time zones come from ``zoneinfo``; durations are read by
``retry.seconds``. Every bad value is a ``ConfigError`` naming its field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from hotmesh import errors
from hotmesh.durations import seconds

OVERLAP = ("skip", "buffer_one", "allow")
CATCHUP = ("skip", "latest", "all")
#: every option ``create`` and ``update`` accept (besides id, topic and data)
OPTIONS = (
    "cron",
    "every",
    "timezone",
    "start_at",
    "end_at",
    "jitter",
    "overlap",
    "catchup",
    "catchup_window",
    "paused",
    "job_id_field",
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def _fail(name: str, problem: str) -> errors.ConfigError:
    return errors.ConfigError(f"schedule option '{name}': {problem}")


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse an unknown option, with the closest known name."""
    for name in options:
        if name not in OPTIONS:
            close = difflib.get_close_matches(name, OPTIONS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise errors.ConfigError(f"unknown schedule option '{name}'{hint}")


def _when(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _fail(name, f"{value!r} is not an ISO 8601 date-time") from None
    if not isinstance(value, datetime):
        raise _fail(name, f"expected a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        raise _fail(
            name, f"{value.isoformat()} has no time zone (give an aware datetime)"
        )
    return value.astimezone(UTC)


def _duration(name: str, value: Any) -> float:
    try:
        return seconds(value, name)
    except errors.ConfigError as exc:
        raise _fail(name, str(exc)) from None


def _cron(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("cron", f"expected a cron expression, not {value!r}")
    text = " ".join(value.split())
    six = len(text.split()) == 6
    try:
        croniter(text, datetime(2026, 1, 1), second_at_beginning=six)
    except (ValueError, KeyError) as exc:
        raise _fail("cron", f"invalid expression {value!r}: {exc}") from None
    return text


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail("timezone", f"expected an IANA time zone name, not {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(
            "timezone",
            f"unknown time zone {value!r} (use an IANA name like 'Europe/Berlin')",
        ) from None
    return value


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise _fail(name, f"{value!r} is not one of {', '.join(allowed)}{hint}")
    return str(value)


def check_id(value: Any, what: str = "schedule id") -> str:
    """A schedule id: 1-200 letters, digits, '_', '.', '-' (it prefixes job ids)."""
    if not isinstance(value, str) or not _ID.match(value):
        raise errors.ConfigError(
            f"invalid {what} {value!r}: use 1-200 letters, digits, '_', '.' and '-', "
            "starting with a letter or digit"
        )
    return value


@dataclass(frozen=True)
class ScheduleSpec:
    """What fires when: one of ``cron`` or ``every`` (seconds), and the policies."""

    id: str
    topic: str
    data: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None
    every: float | None = None
    timezone: str = "UTC"
    start_at: datetime | None = None
    end_at: datetime | None = None
    jitter: float = 0.0
    overlap: str = "skip"
    catchup: str = "skip"
    catchup_window: float = 3600.0
    paused: bool = False
    #: a data field that receives the tick's job id (MemFlow's ``workflowId``)
    job_id_field: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def six_fields(self) -> bool:
        return self.cron is not None and len(self.cron.split()) == 6

    def options(self) -> dict[str, Any]:
        """The options as JSON (datetimes as ISO text), for the stored row."""
        doc = asdict(self)
        for key in ("id", "topic", "data"):
            doc.pop(key)
        for key in ("start_at", "end_at"):
            if doc[key] is not None:
                doc[key] = doc[key].isoformat()
        return doc


def build(
    schedule_id: Any, topic: Any, data: Any, options: Mapping[str, Any]
) -> ScheduleSpec:
    """Validate ``options`` into a spec (``ConfigError`` naming the bad field)."""
    check_options(options)
    check_id(schedule_id)
    if not isinstance(topic, str) or not topic:
        raise errors.ConfigError(
            f"schedule '{schedule_id}': topic must be a non-empty string"
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _fail("data", f"expected a mapping, not {type(data).__name__}")
    cron, every = options.get("cron"), options.get("every")
    if (cron is None) == (every is None):
        raise errors.ConfigError(
            f"schedule '{schedule_id}': give exactly one of 'cron' or 'every'"
        )
    period = None
    if every is not None:
        period = _duration("every", every)
        if period <= 0:
            raise _fail("every", "must be longer than 0 seconds")
    start_at = _when("start_at", options.get("start_at"))
    end_at = _when("end_at", options.get("end_at"))
    if start_at and end_at and end_at <= start_at:
        raise _fail("end_at", "must be later than start_at")
    window = _duration("catchup_window", options.get("catchup_window", 3600.0))
    paused = options.get("paused", False)
    if not isinstance(paused, bool):
        raise _fail("paused", f"expected true or false, not {paused!r}")
    id_field = options.get("job_id_field")
    if id_field is not None and not isinstance(id_field, str):
        raise _fail("job_id_field", "expected a field name")
    return ScheduleSpec(
        id=schedule_id,
        topic=topic,
        data=dict(data),
        cron=_cron(cron) if cron is not None else None,
        every=period,
        timezone=_zone(options.get("timezone", "UTC")),
        start_at=start_at,
        end_at=end_at,
        jitter=_duration("jitter", options.get("jitter", 0)),
        overlap=_choice("overlap", options.get("overlap", "skip"), OVERLAP),
        catchup=_choice("catchup", options.get("catchup", "skip"), CATCHUP),
        catchup_window=window,
        paused=paused,
        job_id_field=id_field,
    )


def from_row(
    schedule_id: str, topic: str, data: Any, options: Mapping[str, Any]
) -> ScheduleSpec:
    """A spec from its stored row (validated again: the row is JSON)."""
    return build(schedule_id, topic, data, dict(options))
