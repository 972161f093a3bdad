"""The NOTIFY protocol between processes: typed notes, and their wire form.

Every process of a schema LISTENs on one channel. A note says what changed so
the others can act without polling. The wire form is a ``|``-separated line
with a one-letter kind (kept as it is, so processes of older and newer
versions understand each other):

==================================  =======================================
``m|app|stream|delay|origin``       :class:`Messages`: new messages on a stream
``d|app|job id|publishes|origin``   :class:`Done`: a job finished
``e|app|job id|publishes|origin``   :class:`Emitted`: a job emitted output
``u|app|topic|json|origin``         :class:`UserMessage`: ``HotMesh.publish``
``a|app|version``                   :class:`Activated`: a version became active
``l|app|origin``                    :class:`LimitsChanged`: topic keys changed
==================================  =======================================

``origin`` is the sending engine's owner id: a process ignores its own notes
(it already acted on its own commit).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Messages:
    """New messages on ``stream`` of ``app``, visible in ``delay`` seconds."""

    app: str
    stream: str
    delay: float
    origin: str


@dataclass(frozen=True, slots=True)
class Done:
    """Job ``job_id`` finished; ``publishes`` is its graph's topic ('' if none)."""

    app: str
    job_id: str
    publishes: str
    origin: str


@dataclass(frozen=True, slots=True)
class Emitted:
    """Job ``job_id`` emitted output to ``publishes``."""

    app: str
    job_id: str
    publishes: str
    origin: str


@dataclass(frozen=True, slots=True)
class UserMessage:
    """A ``HotMesh.publish`` message: ``body`` is its JSON text."""

    app: str
    topic: str
    body: str
    origin: str


@dataclass(frozen=True, slots=True)
class Activated:
    """``version`` of ``app`` became active."""

    app: str
    version: str


@dataclass(frozen=True, slots=True)
class LimitsChanged:
    """``set_topic_limits`` changed a topic of ``app``: read its key expressions again."""

    app: str
    origin: str


Note = Messages | Done | Emitted | UserMessage | Activated | LimitsChanged


def encode(note: Note) -> str:
    """The wire form of ``note``."""
    match note:
        case Messages(app, stream, delay, origin):
            return f"m|{app}|{stream}|{delay}|{origin}"
        case Done(app, job_id, publishes, origin):
            return f"d|{app}|{job_id}|{publishes}|{origin}"
        case Emitted(app, job_id, publishes, origin):
            return f"e|{app}|{job_id}|{publishes}|{origin}"
        case UserMessage(app, topic, body, origin):
            return f"u|{app}|{topic}|{body}|{origin}"
        case Activated(app, version):
            return f"a|{app}|{version}"
        case LimitsChanged(app, origin):
            return f"l|{app}|{origin}"


def decode(payload: str) -> Note | None:
    """The note of a wire payload; ``None`` for one this version does not know
    (a newer process's kind, or a malformed line), which listeners ignore."""
    kind, _, rest = payload.partition("|")
    if kind == "u":  # the JSON body may hold '|': topic first, origin last
        app, _, rest = rest.partition("|")
        topic, _, rest = rest.partition("|")
        body, sep, origin = rest.rpartition("|")
        return UserMessage(app, topic, body, origin) if sep else None
    parts = rest.split("|")
    if kind == "a" and len(parts) == 2:
        return Activated(parts[0], parts[1])
    if kind == "l" and len(parts) == 2:
        return LimitsChanged(parts[0], parts[1])
    if len(parts) != 4:
        return None
    app, first, second, origin = parts
    if kind == "m":
        try:
            delay = float(second or 0)
        except ValueError:
            return None
        return Messages(app, first, delay, origin)
    if kind == "d":
        return Done(app, first, second, origin)
    if kind == "e":
        return Emitted(app, first, second, origin)
    return None
