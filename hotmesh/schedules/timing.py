"""When a schedule's ticks fall and what one firing pass does with them (pure).

Cron ticks are computed on the schedule's *wall clock*: croniter walks local
times in the zone and each is turned into an instant with ``fold=0``. So a time
that the spring-forward gap skips (02:30 when clocks jump from 02:00 to 03:00)
fires at the instant it would have been (03:30 local), and a time that the
fall-back hour repeats fires once, at its first occurrence. A wall time that
lands on an instant already produced is dropped, so no instant fires twice.

A tick is *on time* while it is at most ``GRACE`` seconds late; later ticks
are *missed*, and the ``catchup`` policy decides about them (see ``decide``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from croniter import croniter

from hotmesh.schedules.spec import ScheduleSpec

#: seconds a tick may be late and still count as on time
GRACE = 60.0
#: ticks one pass starts per schedule (the rest follow in the next pass)
MAX_FIRES = 100
#: wall times examined at most per search (a guard against pathological crons)
_MAX_STEPS = 100_000
_FAR = datetime(9999, 1, 1, tzinfo=UTC)
_TINY = timedelta(microseconds=1)
_SHIFT = timedelta(hours=3)


def initial_cursor(spec: ScheduleSpec, now: datetime) -> datetime:
    """Ticks after this instant are the schedule's (none before creation or start_at)."""
    if spec.start_at is not None and spec.start_at > now:
        return spec.start_at - _TINY
    return now


def anchor(spec: ScheduleSpec, created: datetime) -> datetime:
    """Where ``every`` counts from: ``start_at``, or the creation time."""
    return spec.start_at or created


def ticks(
    spec: ScheduleSpec, base: datetime, after: datetime, until: datetime, limit: int
) -> list[datetime]:
    """Up to ``limit`` tick instants ``t`` with ``after < t <= until`` (UTC), in order.

    ``base`` anchors ``every`` schedules (ignored for cron).
    """
    if spec.end_at is not None:
        until = min(until, spec.end_at)
    if spec.start_at is not None:
        after = max(after, spec.start_at - _TINY)
    if until <= after or limit <= 0:
        return []
    if spec.every is not None:
        return _every(spec.every, base, after, until, limit)
    return _cron(spec, after, until, limit)


def _every(
    period: float, base: datetime, after: datetime, until: datetime, limit: int
) -> list[datetime]:
    k = max(0, math.floor((after - base).total_seconds() / period))
    out: list[datetime] = []
    while len(out) < limit:
        t = base + timedelta(seconds=period * k)
        k += 1
        if t <= after:
            continue
        if t > until:
            break
        out.append(t)
    return out


def _cron(
    spec: ScheduleSpec, after: datetime, until: datetime, limit: int
) -> list[datetime]:
    assert spec.cron is not None
    zone = spec.zone
    # Start the walk a few hours back: a wall time skipped by a gap maps to an
    # instant past the gap, so it may lie after ``after`` though its wall time
    # lies before ``after``'s (no zone shifts its clocks by 3 hours at once).
    local = (after - _SHIFT).astimezone(zone).replace(tzinfo=None)
    walk = croniter(spec.cron, local, second_at_beginning=spec.six_fields)
    out: list[datetime] = []
    last = after
    for _ in range(_MAX_STEPS):
        wall = walk.get_next(datetime)
        instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant <= last:
            continue  # before ``after``, or a skipped wall time mapped onto a produced one
        if instant > until:
            break
        out.append(instant)
        last = instant
        if len(out) >= limit:
            break
    return out


def offset(spec: ScheduleSpec, tick: datetime) -> timedelta:
    """The tick's jitter: the same in every process (a hash of id and tick)."""
    if spec.jitter <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{spec.id}|{tick.isoformat()}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64
    return timedelta(seconds=share * spec.jitter)


def next_fire(spec: ScheduleSpec, base: datetime, cursor: datetime) -> datetime | None:
    """When the first tick after ``cursor`` fires (jitter included); None if none is left."""
    found = ticks(spec, base, cursor, _FAR, 1)
    return found[0] + offset(spec, found[0]) if found else None


def upcoming(
    spec: ScheduleSpec, base: datetime, cursor: datetime, count: int
) -> list[datetime]:
    """The next ``count`` tick instants after ``cursor`` (for ``get`` and ``list``)."""
    return ticks(spec, base, cursor, _FAR, count)


def job_id(schedule_id: str, tick: datetime) -> str:
    """A tick's job id: the same in every process, so a tick starts at most once."""
    return f"{schedule_id}:{tick.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"


@dataclass
class Pass:
    """What one firing pass does with a schedule."""

    fire: list[datetime] = field(default_factory=list)
    #: ticks dropped because the previous run was still going (``overlap``)
    skipped: list[datetime] = field(default_factory=list)
    #: ticks dropped for being late (``catchup``)
    missed: list[datetime] = field(default_factory=list)
    buffered: datetime | None = None
    cursor: datetime = _FAR
    next_at: datetime | None = None


def decide(
    spec: ScheduleSpec,
    base: datetime,
    cursor: datetime,
    now: datetime,
    running: bool,
    buffered: datetime | None,
) -> Pass:
    """Which ticks to start now.

    * A buffered tick (``overlap="buffer_one"``) starts once the run before it
      has finished.
    * Due ticks (fire time at or before ``now``) at most ``GRACE`` seconds late
      start. Later ones are missed: ``catchup="skip"`` drops them,
      ``"latest"`` starts the most recent of them (when no on-time tick starts),
      ``"all"`` starts each; ``"latest"`` and ``"all"`` look back at most
      ``catchup_window``.
    * While a run of this schedule is going, ``overlap`` decides: ``"skip"``
      drops the tick, ``"buffer_one"`` keeps one (and drops more),
      ``"allow"`` starts it anyway.
    """
    out = Pass(buffered=buffered, cursor=cursor)
    if buffered is not None and not running:
        out.fire.append(buffered)
        out.buffered = None
        running = True
    horizon = GRACE if spec.catchup == "skip" else max(GRACE, spec.catchup_window)
    lower = max(
        cursor, now - timedelta(seconds=horizon) - timedelta(seconds=spec.jitter)
    )
    due: list[datetime] = []
    for tick in ticks(spec, base, lower, now, MAX_FIRES + 1):
        if tick + offset(spec, tick) > now:
            break
        due.append(tick)
    more = len(due) > MAX_FIRES
    due = due[:MAX_FIRES]
    if due:
        out.cursor = due[-1]
    elif lower > cursor:
        out.cursor = lower  # everything before lower was missed beyond recall
    chosen: list[datetime] = []
    latest: datetime | None = None
    for tick in due:
        late = (now - tick - offset(spec, tick)).total_seconds()
        if late <= GRACE or spec.catchup == "all":
            chosen.append(tick)
        elif spec.catchup == "latest":
            if latest is not None:
                out.missed.append(latest)
            latest = tick
        else:
            out.missed.append(tick)
    if latest is not None:
        if chosen:
            out.missed.append(latest)
        else:
            chosen.append(latest)
    for tick in chosen:
        if not running or spec.overlap == "allow":
            out.fire.append(tick)
            running = True
        elif spec.overlap == "buffer_one" and out.buffered is None:
            out.buffered = tick
        else:
            out.skipped.append(tick)
    if more:
        out.next_at = now  # the cap was reached: the next pass continues at once
    else:
        out.next_at = next_fire(spec, base, out.cursor)
    return out
