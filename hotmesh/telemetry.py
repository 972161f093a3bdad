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
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from typing import TYPE_CHECKING, Any

try:  # the ``otel`` extra
    from opentelemetry import metrics, trace
except ImportError:  # pragma: no cover - exercised when the extra is absent
    trace = None  # type: ignore[assignment]
    metrics = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from hotmesh.engine.commit import StepCommit

log = logging.getLogger("hotmesh.telemetry")

try:  # the instrumenting library's version, as OpenTelemetry asks
    _VERSION: str | None = package_metadata.version("hotmesh")
except (
    package_metadata.PackageNotFoundError
):  # pragma: no cover - run from a bare checkout
    _VERSION = None

#: job spans this process started and has not ended yet (job id -> span)
_OPEN: OrderedDict[str, Any] = OrderedDict()
#: beyond this many open job spans, the oldest is ended (marked unfinished)
MAX_OPEN = 10_000


_ON = False
#: when the provider was last found unset (``time.monotonic``)
_OFF_SINCE = -1e9
#: seconds an unset provider is believed unset before asking again
RECHECK = 1.0


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
    global _OFF_SINCE, _UNMETERED_SINCE
    _OFF_SINCE = _UNMETERED_SINCE = -1e9


def _tracer() -> Any:
    return trace.get_tracer("hotmesh", _VERSION)


def _remote(metadata: Mapping[str, Any]) -> Any:
    """The job span's context from ``trc``/``spn`` (``None`` if not traced)."""
    trc, spn = metadata.get("trc"), metadata.get("spn")
    if not isinstance(trc, str) or not isinstance(spn, str):
        return None
    try:
        parent = trace.SpanContext(
            int(trc, 16),
            int(spn, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    except ValueError:
        return None
    if not parent.is_valid:
        return None
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def start_job(app: str, topic: str, owner: str) -> dict[str, Any] | None:
    """Start a job's span under the caller's active span; the metadata that
    carries it (``trc``, ``spn``, and ``ngn`` so its completion is heard)."""
    if not enabled():
        return None
    span = _tracer().start_span(
        f"job {topic}",
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

    def __init__(self, app: str, topic: str, owner: str) -> None:
        self.fields = start_job(app, topic, owner)
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


def error_code(err: Any) -> tuple[str, str]:
    """The code and message of a job's ``err`` (its JSON string)."""
    try:
        body = json.loads(err) if isinstance(err, str) else err
    except ValueError:
        return "500", str(err)
    if not isinstance(body, dict):
        return "500", str(err)
    return str(body.get("code", 500)), str(body.get("message", ""))


def stamp_ns(stamp: Any) -> int | None:
    """Epoch ns of a compact ``YYYYMMDDHHMMSS.mmm`` stamp."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.strptime(stamp, "%Y%m%d%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000) * 1_000_000


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
    for row in commit.activities:
        if not row.done:
            continue
        key = (row.activity_id, row.dimension)
        out = row.output if isinstance(row.output, dict) else {}
        md = out.get("metadata") or {}
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
        attrs = {**commit.span_attributes.get(key, {}), **attrs}
        start, end = stamp_ns(md.get("ac")), stamp_ns(md.get("au"))
        span = tracer.start_span(
            row.activity_id, context=parent, attributes=attrs, start_time=start
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
    if not enabled() or (parent := _remote(metadata)) is None:
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


# ---------------------------------------------------------------------------
# Metrics (OpenTelemetry metrics API, the global meter provider)

_METERING = False
_UNMETERED_SINCE = -1e9
_INSTRUMENTS: dict[str, Any] = {}


def metering() -> bool:
    """True when the API is installed and an SDK meter provider is set (asked
    again at most once a second while unset, as :func:`enabled`)."""
    global _METERING, _UNMETERED_SINCE
    if _METERING:
        return True
    if metrics is None:
        return False
    now = time.monotonic()
    if now - _UNMETERED_SINCE < RECHECK:
        return False
    provider = metrics.get_meter_provider()
    # the API's default is a proxy (a private class) until a provider is set
    _METERING = not isinstance(provider, metrics.NoOpMeterProvider) and (
        type(provider).__name__ != "_ProxyMeterProvider"
    )
    if not _METERING:
        _UNMETERED_SINCE = now
    return _METERING


def _instruments() -> dict[str, Any]:
    if not _INSTRUMENTS:
        meter = metrics.get_meter("hotmesh", _VERSION or "")
        _INSTRUMENTS.update(
            started=meter.create_counter(
                "hotmesh.jobs.started", unit="{job}", description="Jobs created"
            ),
            completed=meter.create_counter(
                "hotmesh.jobs.completed",
                unit="{job}",
                description="Jobs ended, by status (success, error) and code",
            ),
            job_duration=meter.create_histogram(
                "hotmesh.job.duration", unit="s", description="Job creation to end"
            ),
            activity_duration=meter.create_histogram(
                "hotmesh.activity.duration",
                unit="s",
                description="Activity start to end, by activity id",
            ),
        )
    return _INSTRUMENTS


def _measure(commit: StepCommit) -> None:
    job = commit.job
    md = job.metadata
    base = {"hotmesh.app": str(md.get("app", "")), "hotmesh.topic": job.topic}
    ins = _instruments()
    if commit.new_job:
        ins["started"].add(1, base)
    for row in commit.activities:
        out = row.output if isinstance(row.output, dict) else {}
        stamps = out.get("metadata") or {}
        start, end = stamp_ns(stamps.get("ac")), stamp_ns(stamps.get("au"))
        if row.done and start is not None and end is not None:
            ins["activity_duration"].record(
                (end - start) / 1e9,
                {
                    **base,
                    "hotmesh.activity.id": row.activity_id,
                    "hotmesh.activity.type": row.type,
                    "hotmesh.activity.status": "error" if row.error else "success",
                },
            )
    if commit.completion is not None:
        code = error_code(job.err)[0] if job.err else "200"
        done = {**base, "hotmesh.job.status": "error" if job.err else "success"}
        ins["completed"].add(1, {**done, "hotmesh.job.code": code})
        start, end = stamp_ns(md.get("jc")), stamp_ns(md.get("ju"))
        if start is not None and end is not None:
            ins["job_duration"].record((end - start) / 1e9, done)


def committed(commit: StepCommit) -> None:
    """After a step commits: its spans and its measures (each only when on)."""
    activities(commit)
    if metering():
        _measure(commit)
