"""What one pure step produces: the records the shell commits in one transaction."""

from __future__ import annotations

import dataclasses
import json
import operator
import secrets
from dataclasses import dataclass, field
from typing import Any

from hotmesh.engine import context as cx
from hotmesh.engine.spans import SpanEvent
from hotmesh.store.records import ActivityRow, JobRow, Message, NewMessage

#: Message priorities: higher is claimed first.
PRIORITY = {
    "interrupt": 6,
    "timehook": 5,
    "webhook": 5,
    # A deferred leg (a big fan-out's rest, a cycle's next lap) is claimed after
    # every other kind of message: a busy job yields to the others.
    "transition": 0,
    "start": 4,
    "result": 3,
    "response": 2,
    "worker": 1,
    "await": 0,
}
DEFAULT_EXPIRE = 1.0
#: Added to the semaphore of an interrupted job: far below any
#: threshold, so late messages for it are dropped.
INTERRUPTED = -1_000_000_000
#: Default cap on re-entries of one cycle pivot (upstream ``HMSH_MAX_CYCLES``).
MAX_CYCLES = 10_000


def new_job_id() -> str:
    """``H`` + a 22-character random id over nanoid's alphabet, as upstream."""
    # 16 random bytes in URL-safe base64 are exactly 22 characters of
    # [A-Za-z0-9_-]: 128 bits, at a fraction of the cost of 22 choice() calls.
    return "H" + secrets.token_urlsafe(16)


def err_string(error: dict[str, Any]) -> str:
    """A job error as upstream stores it in ``metadata.err`` (compact JSON)."""
    return json.dumps(error, separators=(",", ":"), ensure_ascii=False)


def read_err(text: str | None) -> dict[str, Any] | None:
    """A stored job error as a dict (text that is not a JSON object: its message)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"message": text}


@dataclass(slots=True)
class Completion:
    """What a job's completion publishes."""

    output: dict[str, Any]
    publishes: str | None
    expire: float


@dataclass(frozen=True, slots=True)
class HookRegistration:
    """A webhook hook waiting on signal ``key``."""

    key: str
    aid: str
    dad: str


@dataclass(frozen=True, slots=True)
class SignalOut:
    """A signal this step sends (a ``signal`` activity).

    ``facet`` is set for ``subtype: all``: every job indexed under it is
    signalled with ``{...data, id: <job id>}``. ``keep`` is how long a signal
    that finds no waiting hook is kept (``None``: the engine's ``signal_ttl``).
    """

    topic: str
    data: dict[str, Any]
    status: str = "success"
    code: int = 200
    facet: str | None = None
    scrub: bool = False
    keep: float | None = None


@dataclass(slots=True)
class StepDraft:
    """What a step is building (mutable, inside the pure step only); the step
    returns it frozen, as a :class:`StepCommit` (:meth:`freeze`)."""

    job: JobRow
    new_job: bool = False
    delta: int = 0
    activities: list[ActivityRow] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    completion: Completion | None = None
    emit: dict[str, Any] | None = None
    parent: str | None = None
    dropped: str | None = None
    register: list[HookRegistration] = field(default_factory=list)
    unregister: list[str] = field(default_factory=list)
    signals: list[SignalOut] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    expired_escalations: list[tuple[str, str]] = field(default_factory=list)
    cancel_escalations: bool = False
    interrupts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    descend: dict[str, Any] | None = None
    facets: list[str] = field(default_factory=list)
    expire: float | None = None
    span_attributes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    span_events: list[SpanEvent] = field(default_factory=list)
    span_links: dict[tuple[str, str], Any] = field(default_factory=dict)
    parts: tuple[StepCommit, ...] = ()

    def freeze(self) -> StepCommit:
        """The finished step, as the shell receives it."""
        return StepCommit(*_draft_values(self))


@dataclass(frozen=True, slots=True)
class StepCommit:
    """Everything one step writes, committed in one transaction by the shell.

    Frozen: the shell reads it and never writes into it. What the write
    learns (status, row version, reserved messages) and the messages its side
    effects add come back as a :class:`Written`. The lists are the step's own
    (not copied, for speed): nobody appends to them after the step returns.
    """

    job: JobRow
    new_job: bool = False
    delta: int = 0
    activities: list[ActivityRow] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    completion: Completion | None = None
    #: interim output published by an ``emit`` activity
    emit: dict[str, Any] | None = None
    parent: str | None = None
    dropped: str | None = None
    register: list[HookRegistration] = field(default_factory=list)
    unregister: list[str] = field(default_factory=list)
    signals: list[SignalOut] = field(default_factory=list)
    #: escalation rows to open (a hook with an ``escalation:`` block)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    #: ``(topic, signal key)`` of escalations whose hook timed out
    expired_escalations: list[tuple[str, str]] = field(default_factory=list)
    #: cancel this job's open escalations (it was interrupted)
    cancel_escalations: bool = False
    #: other jobs to interrupt: ``(job id, options)``
    interrupts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: interrupt every descendant job too (``descend``), with these options
    descend: dict[str, Any] | None = None
    #: ``field:value`` index entries of a new job (trigger ``measure: index``)
    facets: list[str] = field(default_factory=list)
    #: ``expired_at`` override in seconds (``pending`` jobs)
    expire: float | None = None
    #: traced jobs only: evaluated ``telemetry`` maps by ``(activity, dimension)``
    span_attributes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: traced jobs only: span events of the activities this step touched
    span_events: list[SpanEvent] = field(default_factory=list)
    #: traced jobs only: the span context a signal's sender ran in, by activity
    span_links: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: a combined commit's steps, each as it was (telemetry reports each one:
    #: an activity's span and measures are its finishing step's)
    parts: tuple[StepCommit, ...] = ()

    @property
    def side_effects(self) -> bool:
        """Whether the shell has more to do than the single-statement write."""
        return bool(
            self.register
            or self.unregister
            or self.signals
            or self.interrupts
            or self.escalations
            or self.expired_escalations
            or self.cancel_escalations
            or self.descend is not None
            or self.facets
        )

    def with_metadata(self, **extra: Any) -> StepCommit:
        """This step with ``extra`` added to the job metadata it writes
        (``pubsub``'s waiting engine, ``ngn``), the original left as it was."""
        values = list(_draft_values(self))
        values[0] = job_with(self.job, metadata={**self.job.metadata, **extra})
        return StepCommit(*values)  # as dataclasses.replace, for a fraction of it


@dataclass(frozen=True, slots=True)
class Written:
    """What committing a :class:`StepCommit` learned, for the after-commit work.

    ``messages`` are the step's messages as inserted (a reservation asked for
    a local consumer) followed by the messages its side effects added (hooks
    resumed by a signal, early signals, descendant interrupts); ``chained``
    are the steps of other jobs written in the same transaction.
    """

    commit: StepCommit
    #: the job's semaphore once written
    status: int
    #: the job row's version (``xmin``), for the state cache
    version: str
    #: the job row's key (new for a created job)
    pk: int
    #: messages inserted already reserved for this process
    reserved: list[Message]
    messages: list[NewMessage]
    chained: tuple[Written, ...] = ()


def job_output(job: JobRow) -> dict[str, Any]:
    """``{metadata, data?}`` as subscribers see it."""
    meta = dict(job.metadata)
    meta["js"] = job.status
    if job.err is not None:
        meta["err"] = job.err
    out: dict[str, Any] = {"metadata": meta}
    data = cx.public_data(job.data)
    if data:
        out["data"] = data
    return out


def job_fields(job: JobRow) -> dict[str, Any]:
    """The job row's fields as keyword arguments."""
    return {k: getattr(job, k) for k in JobRow.__slots__}


def job_with(
    job: JobRow,
    *,
    pk: int | None = None,
    status: int | None = None,
    metadata: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    activities: list[ActivityRow] | None = None,
) -> JobRow:
    """``job`` with the given fields replaced (a shallow copy).

    Positional, as ``JobRow`` declares its fields: several times cheaper than
    ``dataclasses.replace`` or a keyword dict, and called per step
    (tests/unit/engine/test_commit_copy.py holds it to every field)."""
    return JobRow(
        job.pk if pk is None else pk,
        job.job_id,
        job.gid,
        job.key,
        job.topic,
        job.version,
        job.status if status is None else status,
        job.metadata if metadata is None else metadata,
        job.data if data is None else data,
        job.err,
        job.activities if activities is None else activities,
    )


def copy_job(job: JobRow) -> JobRow:
    """A copy the step may change (metadata, data and the row list are copied)."""
    return job_with(
        job,
        metadata=dict(job.metadata),
        data=dict(job.data),
        activities=list(job.activities),
    )


def advance(
    job: JobRow, commit: StepCommit, status: int | None = None, pk: int | None = None
) -> JobRow:
    """The job as it stands after ``commit`` (for the next step of a batch):
    ``job``'s rows with the step's over them; the semaphore is ``job``'s plus
    the step's delta unless the database already said (``status``), and
    ``pk`` the row's key when the write learnt it (a created job)."""
    rows = {(r.activity_id, r.dimension): r for r in job.activities}
    for r in commit.activities:
        rows[r.activity_id, r.dimension] = r
    return job_with(
        commit.job,
        pk=pk,
        status=job.status + commit.delta if status is None else status,
        activities=list(rows.values()),
    )


def combine(commits: list[StepCommit]) -> StepCommit:
    """Several consecutive steps of one job as one commit (one write).

    Later activity rows replace earlier ones; messages, side effects and
    span notes add up; the job row is the last step's. At most one step
    completes the job: after it, the job is inactive and later steps are
    dropped. The steps are kept (``parts``) for telemetry, which tells each
    as it ran: an activity finished by an early step has that step's stamps.
    """
    if len(commits) == 1:
        return commits[0]
    last = commits[-1]
    out = StepDraft(job=last.job, delta=sum(c.delta for c in commits))
    rows: dict[tuple[str, str], ActivityRow] = {}
    for c in commits:
        rows.update({(r.activity_id, r.dimension): r for r in c.activities})
        out.messages.extend(c.messages)
        out.register.extend(c.register)
        out.unregister.extend(c.unregister)
        out.signals.extend(c.signals)
        out.interrupts.extend(c.interrupts)
        out.escalations.extend(c.escalations)
        out.expired_escalations.extend(c.expired_escalations)
        out.facets.extend(c.facets)
        out.cancel_escalations = out.cancel_escalations or c.cancel_escalations
        out.completion = c.completion or out.completion
        out.emit = c.emit or out.emit
        out.descend = c.descend if c.descend is not None else out.descend
        out.expire = c.expire if c.expire is not None else out.expire
        out.span_attributes.update(c.span_attributes)
        out.span_events.extend(c.span_events)
        out.span_links.update(c.span_links)
    out.activities = list(rows.values())
    out.parts = tuple(p for c in commits for p in (c.parts or (c,)))
    return out.freeze()


def escalation_row(spec: Any, aid: str, topic: str, key: str) -> dict[str, Any] | None:
    """The human-in-the-loop row a waiting hook opens (spec §6.12), or None."""
    if not isinstance(spec, dict):
        return None
    if all(spec.get(k) is None for k in ("role", "type", "priority", "metadata")):
        return None  # upstream skips an escalation that says nothing

    def text(name: str) -> str | None:
        value = spec.get(name)
        return None if value is None else str(value)

    priority = spec.get("priority")
    return {
        "signal_key": key,
        "topic": topic,
        "activity_id": aid,
        "type": text("type"),
        "subtype": text("subtype"),
        "role": text("role"),
        "description": text("description"),
        "priority": int(priority)
        if isinstance(priority, (int, float)) and not isinstance(priority, bool)
        else None,
        "metadata": spec.get("metadata"),
        "envelope": spec.get("envelope"),
    }


#: a draft's values in :class:`StepCommit`'s field order: the two classes
#: declare the same fields (tests/unit/engine/test_step.py holds them equal),
#: and ``freeze`` need not list them a third time
_draft_values = operator.attrgetter(*(f.name for f in dataclasses.fields(StepCommit)))
