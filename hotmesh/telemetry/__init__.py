"""OpenTelemetry traces for jobs, activities and worker callbacks (issue 18).

hotmesh depends on ``opentelemetry-api`` only (the ``otel`` extra) and uses the
global tracer provider, as instrumented libraries do: the application chooses
the SDK and its exporters. Without the API installed, or with no SDK provider
set, every entry point returns at its first check, so tracing costs nothing
measurable when it is off.

One trace per job, across processes: the job span starts in the process that
publishes the job (a child of the caller's active span, if any), and its
W3C trace and span ids ride in the job's metadata (``trc``/``spn``, as
upstream names them) and in every worker message, so engines and workers in
other processes add their spans to the same trace. The job span ends where it
started: the publishing engine asks (``ngn``) to hear of the completion, and
reads the job's outcome when it completed elsewhere. A child job's span
starts in the engine that runs its parent's ``await``, under the parent's
job span.

With the SDK on, the SDK's own work (span objects, attribute checks, the
processors) is most of the cost: hotmesh asks for its tracer once, reuses a
job's parent context, and finds a step's finished activities once for spans
and measures (``bench/otel_cpu.py`` measures it).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, NamedTuple

from hotmesh.telemetry import logs, meters
from hotmesh.telemetry._base import VERSION as _VERSION
from hotmesh.telemetry._base import context as _context
from hotmesh.telemetry._base import error_code as error_code
from hotmesh.telemetry._base import stamp_ns as stamp_ns
from hotmesh.telemetry._base import trace as trace
from hotmesh.telemetry.meters import metering as metering

if TYPE_CHECKING:
    from hotmesh.engine.commit import StepCommit
    from hotmesh.store.records import ActivityRow

log = logs.get("hotmesh.telemetry")

#: job spans this process started and has not ended yet (job id -> span)
_OPEN: OrderedDict[str, Any] = OrderedDict()
#: beyond this many open job spans, the oldest is ended (marked unfinished)
MAX_OPEN = 10_000


_ON = False
#: hotmesh's tracer from the SDK provider (set when :func:`enabled` turns on)
_TRACER: Any = None
#: when the provider was last found unset (``time.monotonic``)
_OFF_SINCE = -1e9
#: seconds an unset provider is believed unset before asking again
RECHECK = 1.0

#: An app's activity span names: ``(row) -> (name, attributes)``, or ``None``
#: for no span (MemFlow names its graph's activities after the workflow's
#: calls, and leaves its bookkeeping activities out).
SpanNamer = Callable[["ActivityRow"], "tuple[str, dict[str, Any]] | None"]
_NAMERS: dict[str, SpanNamer] = {}
#: An app's job span names: ``(topic, data) -> name`` (``None``: ``job <topic>``)
JobNamer = Callable[[str, Mapping[str, Any]], "str | None"]
_JOB_NAMERS: dict[str, JobNamer] = {}
#: worker topics whose callbacks get no span (MemFlow's replayed activations)
_QUIET: set[str] = set()


def enabled() -> bool:
    """True when the API is installed and an SDK tracer provider is set.

    The global provider can be set once only, so once on, on for good; while
    off, the provider is asked again at most once a second (so a provider set
    after start is seen within a second).
    """
    global _ON, _OFF_SINCE, _TRACER
    if _ON:
        return True
    if trace is None:
        return False
    now = time.monotonic()
    if now - _OFF_SINCE < RECHECK:
        return False
    provider = trace.get_tracer_provider()
    _ON = not isinstance(
        provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
    )
    if _ON:
        # asked once: the SDK's get_tracer costs more than a span does
        _TRACER = provider.get_tracer("hotmesh", _VERSION)
    else:
        _OFF_SINCE = now
    return _ON


def refresh() -> None:
    """Ask for the global tracer and meter providers again at the next job
    (after setting one later than the first job: otherwise it is seen within
    a second)."""
    global _OFF_SINCE, _TRACER
    _OFF_SINCE = -1e9
    _TRACER = None
    _PARENTS.clear()
    meters.refresh()


def name_spans(app: str, namer: SpanNamer, jobs: JobNamer | None = None) -> None:
    """Name (or leave out) the activity spans of app ``app``, and its job spans."""
    _NAMERS[app] = namer
    if jobs is not None:
        _JOB_NAMERS[app] = jobs


def quiet(topic: str) -> None:
    """No worker span for callbacks of ``topic``."""
    _QUIET.add(topic)


def _tracer() -> Any:
    if _TRACER is None:  # on, but set by hand (tests): ask the provider
        return trace.get_tracer("hotmesh", _VERSION)
    return _TRACER


def span_context(ids: Any) -> Any:
    """The remote span context of ``{trc, spn}`` (``None`` if not valid)."""
    if not isinstance(ids, Mapping):
        return None
    trc, spn = ids.get("trc"), ids.get("spn")
    if not isinstance(trc, str) or not isinstance(spn, str):
        return None
    try:
        found = trace.SpanContext(
            int(trc, 16),
            int(spn, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    except ValueError:
        return None
    return found if found.is_valid else None


#: parent contexts by ``(trc, spn)``: a job's steps and callbacks share one
#: (contexts are immutable); cleared when full
_PARENTS: dict[tuple[Any, Any], Any] = {}
MAX_PARENTS = 4096


def _remote(metadata: Mapping[str, Any]) -> Any:
    """The job span's context from ``trc``/``spn`` (``None`` if not traced)."""
    key = (metadata.get("trc"), metadata.get("spn"))
    found = _PARENTS.get(key)
    if found is not None:
        return found
    parent = span_context(metadata)
    if parent is None:
        return None
    if len(_PARENTS) >= MAX_PARENTS:
        _PARENTS.clear()
    found = _PARENTS[key] = trace.set_span_in_context(trace.NonRecordingSpan(parent))
    return found


def sender() -> dict[str, str] | None:
    """The active span's ids, for a signal to link to (``None``: none, or off)."""
    if not enabled():
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return {
        "trc": trace.format_trace_id(ctx.trace_id),
        "spn": trace.format_span_id(ctx.span_id),
    }


def user_span(
    name: str, attributes: Mapping[str, Any], metadata: Mapping[str, Any]
) -> bool:
    """Record a (zero-length) span ``name`` in the trace of the job whose
    ``trc``/``spn`` are in ``metadata``; ``False`` when not traced."""
    if not enabled() or (parent := _remote(metadata)) is None:
        return False
    attrs = {str(k): attribute(v) for k, v in attributes.items() if v is not None}
    _tracer().start_span(name, context=parent, attributes=attrs).end()
    return True


#: characters kept of a non-scalar (JSON-encoded) or string attribute value
MAX_VALUE = 1024


def attribute(value: Any) -> Any:
    """A span attribute value: scalars as they are (strings capped), anything
    else JSON-encoded and capped."""
    if isinstance(value, bool | int | float):
        return value
    if not isinstance(value, str):
        try:
            value = json.dumps(value, separators=(",", ":"), default=str)
        except (TypeError, ValueError):  # a cycle, say
            value = repr(value)
    return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"


def start_job(
    app: str,
    topic: str,
    owner: str,
    data: Mapping[str, Any] | None = None,
    parent: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Start a job's span under the caller's active span; the metadata that
    carries it (``trc``, ``spn``, and ``ngn`` so its completion is heard).

    ``parent``: a child job's, the metadata its ``await`` passes on (the
    parent job's ``trc``/``spn``): the span is a child of the parent's job
    span; none when the parent is not traced, or when the app's job namer
    names the child ``""`` (a job whose spans belong to its parent's: say
    MemFlow's signal waits).
    """
    if not enabled():
        return None
    context = None
    if parent is not None and (context := _remote(parent)) is None:
        return None
    namer = _JOB_NAMERS.get(app)
    name = namer(topic, data or {}) if namer is not None else None
    if name == "" and parent is not None:
        return None
    span = _tracer().start_span(
        name or f"job {topic}",
        context=context,
        kind=trace.SpanKind.PRODUCER,
        attributes={"hotmesh.app": app, "hotmesh.topic": topic},
    )
    ctx = span.get_span_context()
    if not ctx.is_valid or not ctx.trace_flags.sampled:  # sampled out by the SDK
        span.end()
        return None
    return {
        "trc": trace.format_trace_id(ctx.trace_id),
        "spn": trace.format_span_id(ctx.span_id),
        "ngn": owner,
        "_span": span,
    }


def carried(fields: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The job metadata of :func:`start_job`'s fields (without the span)."""
    if not fields:
        return None
    return {k: v for k, v in fields.items() if k != "_span"}


def opened(job_id: str, fields: dict[str, Any] | None) -> None:
    """Remember the job span of ``fields`` (from :func:`start_job`) until it ends."""
    if not fields or (span := fields.pop("_span", None)) is None:
        return
    span.set_attribute("hotmesh.job_id", job_id)
    fields["jid"] = job_id
    _OPEN[job_id] = span
    while len(_OPEN) > MAX_OPEN:
        _, oldest = _OPEN.popitem(last=False)
        oldest.set_attribute("hotmesh.job.unfinished", True)
        oldest.end()


def abandon(fields: dict[str, Any] | None, reason: str = "job not started") -> None:
    """The job was not created (an error at pub): end its span with ``reason``."""
    if not fields:
        return
    span = fields.pop("_span", None) or _OPEN.pop(str(fields.get("jid")), None)
    if span is not None:
        span.set_status(trace.Status(trace.StatusCode.ERROR, reason))
        span.end()


class JobSpan:
    """``with JobSpan(app, topic, owner) as span``: a job span for a ``pub``;
    ``span.metadata`` goes into the job, ``span.opened(job_id)`` once it has
    an id; leaving the block with an exception ends it as not started.
    ``parent``: a child job's (see :func:`start_job`)."""

    def __init__(
        self,
        app: str,
        topic: str,
        owner: str,
        data: Mapping[str, Any] | None = None,
        parent: Mapping[str, Any] | None = None,
    ) -> None:
        self.fields = start_job(app, topic, owner, data, parent)
        self.metadata = carried(self.fields)

    def __enter__(self) -> JobSpan:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            abandon(self.fields)

    def opened(self, job_id: str) -> None:
        opened(job_id, self.fields)

    def abandon(self, reason: str) -> None:
        """The job did not start (``reason``): end its span with an error."""
        abandon(self.fields, reason)

    def deduplicated(self, holder: str) -> None:
        """``pub(dedupe_key=)`` returned another job: this one never started."""
        if self.fields and self.fields.get("jid") != holder:
            abandon(self.fields, f"deduplicated: job {holder}")


def awaits(job_id: str) -> bool:
    """Whether this process holds the open span of job ``job_id``."""
    return job_id in _OPEN


def job_ended(
    job_id: str,
    output: Mapping[str, Any] | None,
    read: Callable[..., Awaitable[Any]],
    spawn: Callable[[Coroutine[Any, Any, None]], None],
) -> None:
    """Job ``job_id`` completed: end its span, if this process started it.

    ``output`` is ``None`` when it completed in another process (a ``Done``
    notification says only that): then the job is read (``read``, the
    engine's) in a task ``spawn`` starts, and the span ends with its outcome.
    """
    if output is None and job_id in _OPEN:
        spawn(_heard(job_id, read))
    else:
        job_done(job_id, output)


async def _heard(job_id: str, read: Callable[..., Awaitable[Any]]) -> None:
    try:
        job = await read(job_id, include_expired=True)
    except Exception as exc:  # the database is away: end it, outcome unknown
        log.warning("job %s: outcome not read for its span (%s)", job_id, exc)
        job = None
    err = getattr(job, "err", None)
    job_done(job_id, {"metadata": {"err": err}} if err else None)


def job_done(job_id: str, output: Mapping[str, Any] | None) -> None:
    """End the job's span, if this process started it (``output`` may be unknown)."""
    if not _OPEN:
        return
    span = _OPEN.pop(job_id, None)
    if span is None:
        return
    metadata = (output or {}).get("metadata") or {}
    err = metadata.get("err")
    if err:
        code, message = error_code(err)
        span.set_attribute("hotmesh.job.error_code", code)
        if code == "410":
            span.add_event("hotmesh.interrupted", {"hotmesh.interrupt.reason": message})
        span.set_status(trace.Status(trace.StatusCode.ERROR, message[:500]))
    span.end()


class Finished(NamedTuple):
    """An activity a committed step finished, as its span and measures see it."""

    row: ActivityRow
    #: the span's name and the namer's attributes
    name: str
    extra: dict[str, Any] | None
    #: epoch ns of its Leg 1 and of its end (the engine clock's ``ac``/``au``)
    start: int | None
    end: int | None
    #: the activity's output metadata (``try``: the worker attempt)
    metadata: Mapping[str, Any]


def finished(commit: StepCommit) -> list[Finished]:
    """The activities ``commit`` finished: done in this step (not a cycle
    pivot's entry count, rewritten) and named by the app's namer, if any."""
    namer = _NAMERS.get(str(commit.job.metadata.get("app", "")))
    stamp = commit.job.metadata.get("ju")
    out: list[Finished] = []
    for row in commit.activities:
        if not row.done:
            continue
        output = row.output if isinstance(row.output, dict) else {}
        md = output.get("metadata") or {}
        au = md.get("au")
        if stamp is not None and au != stamp:
            continue  # finished before (a cycle pivot's entry count, rewritten)
        name, extra = row.activity_id, None
        if namer is not None:
            if (named := namer(row)) is None:
                continue  # bookkeeping (MemFlow's): neither span nor measure
            name, extra = named
        out.append(Finished(row, name, extra, stamp_ns(md.get("ac")), stamp_ns(au), md))
    return out


def activities(commit: StepCommit, done: list[Finished] | None = None) -> None:
    """A span for each activity this committed step finished (``done``:
    :func:`finished`), in the job's trace, from its Leg 1 to its end."""
    metadata = commit.job.metadata
    parent = _remote(metadata)
    if parent is None:
        return
    tracer = _tracer()
    events: dict[tuple[str, str], list[Any]] = {}
    for event in commit.span_events:
        events.setdefault((event.aid, event.dad), []).append(event)
    app = str(metadata.get("app", ""))
    version = str(metadata.get("vrs", ""))
    job_id = commit.job.job_id
    manifest, links = commit.span_attributes, commit.span_links
    for row, name, extra, start, end, md in finished(commit) if done is None else done:
        key = (row.activity_id, row.dimension)
        error = row.error if isinstance(row.error, dict) else None
        # the manifest's own attributes first: ours win a clash
        attrs: dict[str, Any] = dict(manifest[key]) if key in manifest else {}
        if extra:
            attrs.update(extra)
        attrs["hotmesh.app"] = app
        attrs["hotmesh.version"] = version
        attrs["hotmesh.job_id"] = job_id
        attrs["hotmesh.activity.id"] = row.activity_id
        attrs["hotmesh.activity.type"] = row.type
        attrs["hotmesh.activity.dimension"] = row.dimension
        attrs["hotmesh.activity.status"] = "error" if error else "success"
        if error and error.get("code") is not None:
            attrs["hotmesh.activity.error_code"] = str(error.get("code"))
        if isinstance(attempt := md.get("try"), int):
            attrs["hotmesh.activity.attempt"] = attempt + 1
        sender = span_context(links[key]) if key in links else None
        span = tracer.start_span(
            name,
            context=parent,
            attributes=attrs,
            start_time=start,
            links=[trace.Link(sender)] if sender is not None else None,
        )
        for event in events.get(key, ()):
            span.add_event(event.name, event.attributes, event.at or None)
        if error:
            span.set_status(
                trace.Status(trace.StatusCode.ERROR, str(error.get("message", "")))
            )
        span.end(end_time=end if end is not None and start is not None else None)


def worker_status(span: Any, response: Mapping[str, Any]) -> None:
    """Mark a worker span failed when the callback answered with an error."""
    if response.get("status") == "error":
        code = response.get("code")
        span.set_attribute("hotmesh.activity.error_code", str(code))
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"error {code}"))


def worker_failed(span: Any, exc: BaseException, timeout: bool) -> None:
    """A callback raised (or ran past its topic's timeout: a span event too)."""
    if timeout:
        span.add_event("hotmesh.timeout", {"exception.message": str(exc)[:500]})
    span.record_exception(exc)
    span.set_attribute("hotmesh.activity.error_code", "500")
    span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)[:500]))


def event(name: str, attributes: Mapping[str, Any]) -> None:
    """A span event on the active span (a worker's), when one is recording."""
    if not enabled():
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(name, attributes)


_OFF: AbstractContextManager[None] = nullcontext()


class _Current:
    """A started span, current inside the block and ended on leaving it: what
    the SDK's ``start_as_current_span`` does (an exception leaving the block
    is recorded and fails the span), without its two generator frames."""

    __slots__ = ("_token", "span")

    def __init__(self, span: Any) -> None:
        self.span = span

    def __enter__(self) -> Any:
        self._token = _context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(self, kind: Any, exc: BaseException | None, *rest: object) -> None:
        span = self.span
        try:
            _context.detach(self._token)
            # Exception only, as the SDK: a cancellation is no error
            if isinstance(exc, Exception) and span.is_recording():
                span.record_exception(exc)
                span.set_status(
                    trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
                )
        finally:
            span.end()


def worker_span(topic: str, metadata: Mapping[str, Any]) -> AbstractContextManager[Any]:
    """A span around one worker callback, in the job's trace, current inside
    the block (the callback's own spans are its children); no-op when off."""
    if not enabled() or topic in _QUIET or (parent := _remote(metadata)) is None:
        return _OFF
    attrs: dict[str, Any] = {
        "hotmesh.topic": topic,
        "hotmesh.job_id": str(metadata.get("jid", "")),
        "hotmesh.activity.id": str(metadata.get("aid", "")),
        "hotmesh.activity.dimension": str(metadata.get("dad", "")),
    }
    if isinstance(attempt := metadata.get("try"), int):
        attrs["hotmesh.activity.attempt"] = attempt + 1
    return _Current(
        _tracer().start_span(
            f"worker {topic}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes=attrs,
        )
    )


def committed(commit: StepCommit) -> None:
    """After a step commits: its spans and its measures (each only when on).
    A combined commit's steps are told one by one, each as it ran."""
    tracing, measuring = enabled(), meters.metering()
    if not (tracing or measuring):
        return
    for part in commit.parts or (commit,):
        traced = tracing and "trc" in part.job.metadata
        done = finished(part) if traced or measuring else []
        if traced:
            activities(part, done)
        if measuring:
            meters.measure(part, done)
