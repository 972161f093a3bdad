"""Delayed starts: when a ``pub(..., start_at= | delay=)`` job starts (pure).

The job itself is created at once (status "scheduled": see ``step.trigger``);
``service.Schedules`` records the start in ``delayed_starts`` and its firing
pass queues the job's "start" message once the injected clock reaches it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hotmesh import errors
from hotmesh.durations import seconds
from hotmesh.engine.commit import PRIORITY
from hotmesh.store.records import ENGINE_STREAM, NewMessage

#: the longest delay (100 years): anything longer is a mistake
MAX_DELAY = 100 * 365 * 86400.0
#: delayed starts one firing pass queues at most (the rest: the next pass)
PASS_STARTS = 500


def start_time(
    now: datetime, start_at: Any = None, delay: Any = None, pending: Any = None
) -> datetime | None:
    """When a job published with ``start_at`` or ``delay`` starts (None: at once).

    ``start_at`` is an aware datetime (or ISO 8601 text with an offset),
    ``delay`` seconds or a duration like ``"10m"``; a bad value is a
    ``ConfigError`` naming the option.
    """
    if start_at is not None and delay is not None:
        raise errors.ConfigError("give start_at or delay, not both")
    if pending is not None and (start_at is not None or delay is not None):
        raise errors.ConfigError("pending cannot be combined with start_at or delay")
    if delay is not None:
        wait = seconds(delay, "option 'delay'")
        if not math.isfinite(wait) or wait > MAX_DELAY:
            raise errors.ConfigError(
                f"invalid option 'delay': {delay!r} is more than {MAX_DELAY:.0f} seconds"
            )
        return now + timedelta(seconds=wait)
    if start_at is None:
        return None
    if isinstance(start_at, str):
        try:
            start_at = datetime.fromisoformat(start_at)
        except ValueError:
            raise errors.ConfigError(
                f"option 'start_at': {start_at!r} is not an ISO 8601 date-time"
            ) from None
    if not isinstance(start_at, datetime):
        raise errors.ConfigError(
            f"option 'start_at': expected a datetime, not {type(start_at).__name__}"
        )
    if start_at.tzinfo is None:
        raise errors.ConfigError(
            f"option 'start_at': {start_at.isoformat()} has no time zone "
            "(give an aware datetime)"
        )
    return start_at.astimezone(UTC)


def start_messages(rows: list[dict[str, Any]]) -> list[NewMessage]:
    """The "start" engine messages of delayed starts taken by a firing pass."""
    return [
        NewMessage(
            stream=ENGINE_STREAM,
            type="start",
            payload={"metadata": {"jid": r["job_id"], "gid": r["gid"]}},
            job_id=r["job_id"],
            priority=PRIORITY["start"],
        )
        for r in rows
    ]
