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
started: the publishing engine asks (``ngn``) to hear of the completion.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from hotmesh.telemetry import logs, meters
from hotmesh.telemetry._base import VERSION as _VERSION
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
    global _ON, _OFF_SINCE
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
    if not _ON:
        _OFF_SINCE = now
    return _ON


def refresh() -> None:
    """Ask for the global tracer and meter providers again at the next job
    (after setting one later than the first job: otherwise it is seen within
    a second)."""
    global _OFF_SINCE
    _OFF_SINCE = -1e9
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
    return trace.get_tracer("hotmesh", _VERSION)


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


def _remote(metadata: Mapping[str, Any]) -> Any:
    """The job span's context from ``trc``/``spn`` (``None`` if not traced)."""
    parent = span_context(metadata)
    if parent is None:
        return None
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


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
    app: str, topic: str, owner: str, data: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """Start a job's span under the caller's active span; the metadata that
    carries it (``trc``, ``spn``, and ``ngn`` so its completion is heard)."""
    if not enabled():
        return None
    namer = _JOB_NAMERS.get(app)
    name = (namer(topic, data or {}) if namer is not None else None) or f"job {topic}"
    span = _tracer().start_span(
        name,
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
    an id; leaving the block with an exception ends it as not started."""

    def __init__(
        self, app: str, topic: str, owner: str, data: Mapping[str, Any] | None = None
    ) -> None:
        self.fields = start_job(app, topic, owner, data)
        self.metadata = carried(self.fields)

    def __enter__(self) -> JobSpan:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            abandon(self.fields)

    def opened(self, job_id: str) -> None:
        opened(job_id, self.fields)

    def deduplicated(self, holder: str) -> None:
        """``pub(dedupe_key=)`` returned another job: this one never started."""
        if self.fields and self.fields.get("jid") != holder:
            abandon(self.fields, f"deduplicated: job {holder}")


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


def activities(commit: StepCommit) -> None:
    """A span for each activity this committed step finished, in the job's trace,
    from its Leg 1 to its end (``ac`` to ``au``, the engine clock's stamps)."""
    if not enabled():
        return
    metadata = commit.job.metadata
    parent = _remote(metadata)
    if parent is None:
        return
    tracer = _tracer()
    events: dict[tuple[str, str], list[Any]] = {}
    for event in commit.span_events:
        events.setdefault((event.aid, event.dad), []).append(event)
    namer = _NAMERS.get(str(metadata.get("app", "")))
    stamp = metadata.get("ju")
    for row in commit.activities:
        if not row.done:
            continue
        out = row.output if isinstance(row.output, dict) else {}
        md = out.get("metadata") or {}
        if stamp is not None and md.get("au") != stamp:
            continue  # finished before (a cycle pivot's entry count, rewritten)
        key = (row.activity_id, row.dimension)
        name, extra = row.activity_id, None
        if namer is not None:
            if (named := namer(row)) is None:
                continue
            name, extra = named
        attrs: dict[str, Any] = {
            "hotmesh.app": str(metadata.get("app", "")),
            "hotmesh.version": str(metadata.get("vrs", "")),
            "hotmesh.job_id": commit.job.job_id,
            "hotmesh.activity.id": row.activity_id,
            "hotmesh.activity.type": row.type,
            "hotmesh.activity.dimension": row.dimension,
            "hotmesh.activity.status": "error" if row.error else "success",
        }
        error = row.error if isinstance(row.error, dict) else None
        if error and error.get("code") is not None:
            attrs["hotmesh.activity.error_code"] = str(error.get("code"))
        if isinstance(md.get("try"), int):
            attrs["hotmesh.activity.attempt"] = md["try"] + 1
        # the manifest's own attributes first: ours win a clash
        attrs = {**commit.span_attributes.get(key, {}), **(extra or {}), **attrs}
        start, end = stamp_ns(md.get("ac")), stamp_ns(md.get("au"))
        sender = span_context(commit.span_links.get(key))
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


def worker_span(topic: str, metadata: Mapping[str, Any]) -> AbstractContextManager[Any]:
    """A span around one worker callback, in the job's trace (no-op when off)."""
    if not enabled() or topic in _QUIET or (parent := _remote(metadata)) is None:
        return _OFF
    return _worker_span(topic, metadata, parent)


@contextmanager
def _worker_span(topic: str, metadata: Mapping[str, Any], parent: Any) -> Iterator[Any]:
    attrs: dict[str, Any] = {
        "hotmesh.topic": topic,
        "hotmesh.job_id": str(metadata.get("jid", "")),
        "hotmesh.activity.id": str(metadata.get("aid", "")),
        "hotmesh.activity.dimension": str(metadata.get("dad", "")),
    }
    attempt = metadata.get("try")
    if isinstance(attempt, int):
        attrs["hotmesh.activity.attempt"] = attempt + 1
    with _tracer().start_as_current_span(
        f"worker {topic}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes=attrs,
    ) as span:
        yield span


def committed(commit: StepCommit) -> None:
    """After a step commits: its spans and its measures (each only when on)."""
    activities(commit)
    meters.measure(commit)
