"""Query parameters of the console's lists, read into filters (pure: no I/O).

Every problem is a ``FilterError`` naming the parameter, what is wrong and
what would do, which the pages answer with 400.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hotmesh.errors import FilterError
from hotmesh.store import JobFilter

STATES = ("scheduled", "running", "done", "error")
ESCALATION_STATES = ("pending", "resolved", "cancelled", "expired", "all")
JOB_PARAMS = ("app", "topic", "status", "since", "until", "job", "key", "data")
WORKFLOW_PARAMS = ("name", "queue", "status")
PAGE_PARAMS = ("before", "limit")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_TEXT = 255

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class Page:
    """Where a keyset page starts (``None``: the newest) and how long it is."""

    after: tuple[datetime, int] | None = None
    limit: int = DEFAULT_LIMIT


def cursor(created_at: datetime, pk: int) -> str:
    """The ``before=`` value that continues after this row (microseconds.pk)."""
    return f"{(created_at - _EPOCH) // _MICRO}.{pk}"


def _known(params: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    for name in params:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise FilterError(
                name, f"unknown parameter (use {', '.join(allowed)}){hint}"
            )


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_TEXT:
        raise FilterError(name, f"longer than {MAX_TEXT} characters")
    return value


def _choice(
    params: Mapping[str, str], name: str, choices: tuple[str, ...]
) -> str | None:
    value = _text(params, name)
    if value is not None and value not in choices:
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise FilterError(name, f"{value!r} is not one of {', '.join(choices)}{hint}")
    return value


def _time(params: Mapping[str, str], name: str) -> datetime | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise FilterError(
            name, f"{value!r} is not an ISO 8601 time (like 2026-12-07T14:30:00Z)"
        ) from None
    # a time without a zone is UTC, as every time the console shows
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def data_condition(text: str) -> dict[str, Any]:
    """``customer.id = 42`` as the JSON object ``{"customer": {"id": 42}}``.

    The value is JSON when it reads as JSON (42, true, "42"), else the text.
    """
    path, sep, raw = text.partition("=")
    if not sep:
        raise FilterError(
            "data", f"{text!r} has no '=': write it as field.path = value"
        )
    parts = [p.strip() for p in path.strip().split(".")]
    if not parts or any(not p for p in parts):
        raise FilterError(
            "data", f"{path.strip()!r} is not a field path like customer.id"
        )
    raw = raw.strip()
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    for part in reversed(parts):
        value = {part: value}
    return dict(value)


def page(params: Mapping[str, str]) -> Page:
    """``before`` (a cursor from the previous page) and ``limit`` (1-500)."""
    after = None
    raw = _text(params, "before")
    if raw is not None:
        micros, dot, pk = raw.partition(".")
        if not dot or not micros.lstrip("-").isdigit() or not pk.isdigit():
            raise FilterError("before", f"{raw!r} is not a cursor from a 'next' link")
        after = (_EPOCH + int(micros) * _MICRO, int(pk))
    limit = DEFAULT_LIMIT
    raw = _text(params, "limit")
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise FilterError(
                "limit", f"{raw!r} is not a whole number from 1 to {MAX_LIMIT}"
            )
        limit = int(raw)
    return Page(after, limit)


def job_filter(params: Mapping[str, str]) -> tuple[JobFilter, Page]:
    """The ``/jobs`` query: app, topic, status, since, until, job, key, data."""
    _known(params, JOB_PARAMS + PAGE_PARAMS)
    since, until = _time(params, "since"), _time(params, "until")
    if since is not None and until is not None and until <= since:
        raise FilterError("until", "must be later than 'since'")
    data = _text(params, "data")
    where = JobFilter(
        app_id=_text(params, "app"),
        topic=_text(params, "topic"),
        state=_choice(params, "status", STATES),
        since=since,
        until=until,
        job_prefix=_text(params, "job"),
        key_prefix=_text(params, "key"),
        data=None if data is None else data_condition(data),
    )
    return where, page(params)


def workflow_filter(
    params: Mapping[str, str],
) -> tuple[str | None, str | None, str | None, Page]:
    """The ``/workflows`` query: name, queue, status."""
    _known(params, WORKFLOW_PARAMS + PAGE_PARAMS)
    return (
        _text(params, "name"),
        _text(params, "queue"),
        _choice(params, "status", STATES),
        page(params),
    )


def escalation_filter(params: Mapping[str, str]) -> str | None:
    """The ``/escalations`` query: ``status`` (default pending; ``all``: any)."""
    _known(params, ("status",))
    status = _choice(params, "status", ESCALATION_STATES) or "pending"
    return None if status == "all" else status
