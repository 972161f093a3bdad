"""Plain records exchanged between the engine and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotmesh.ids import uuid4_hex

#: Engine stream name; worker streams are ``w:<topic>``.
ENGINE_STREAM = "engine"


def worker_stream(topic: str) -> str:
    """The stream that carries work for worker ``topic``."""
    return "w:" + topic


@dataclass(frozen=True, slots=True)
class Message:
    """A claimed stream message."""

    id: int
    type: str
    payload: dict[str, Any]
    attempts: int = 1
    stream: str = ""
    #: claim order within the stream (higher first)
    priority: int = 0
    #: the flow-control keys it was sent with (concurrency, rate), if any
    ckey: str | None = None
    rkey: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to insert; ``delay`` seconds until it becomes visible."""

    stream: str
    type: str
    payload: dict[str, Any]
    job_id: str | None = None
    priority: int = 0
    delay: float = 0.0
    #: insert already reserved by this owner (a local consumer takes it directly)
    reserved_by: str | None = None
    #: concurrency and rate keys of a keyed flow limit (``flow`` limits)
    ckey: str | None = None
    rkey: str | None = None
    guid: str = field(default_factory=uuid4_hex)


def reserve(m: NewMessage, owner: str) -> NewMessage:
    """``m`` inserted already reserved by ``owner`` (``dataclasses.replace``,
    positionally: a fraction of its cost, for every local message)."""
    return NewMessage(
        m.stream, m.type, m.payload, m.job_id, m.priority, m.delay, owner,
        m.ckey, m.rkey, m.guid,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one claim returned: the messages, whether a stream's flow limits
    held a visible message back, and when a slot may free up unannounced
    (seconds, if known)."""

    messages: list[Message]
    limited: bool = False
    wait: float | None = None


@dataclass(slots=True)
class ActivityRow:
    """One activity state: activity ``id`` executed in ``dimension``."""

    activity_id: str
    dimension: str
    type: str
    leg: int = 1
    done: bool = False
    input: Any = None
    output: Any = None
    hook: Any = None
    error: Any = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    #: why this branch: the transitions' record (``engine.explain``), written
    #: with the row; not read back by a step, so not part of the state a step
    #: compares (a cached row carries it, the locked row read does not)
    why: Any = field(default=None, compare=False)


@dataclass(slots=True)
class JobRow:
    """The job row (``pk`` is the surrogate key)."""

    pk: int
    job_id: str
    gid: str
    key: str
    topic: str
    version: str
    status: int
    metadata: dict[str, Any]
    data: dict[str, Any]
    err: str | None = None
    activities: list[ActivityRow] = field(default_factory=list)


def job_state(row: dict[str, Any]) -> str:
    """``scheduled``, ``running``, ``done`` or ``error`` for a job summary row
    (the CLI's and the console's one word for where a job is)."""
    if row.get("err") is not None:
        return "error"
    if int(row["status"]) <= 0:
        return "done"
    return "scheduled" if row.get("scheduled") else "running"
