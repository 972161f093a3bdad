"""Test helpers for OpenTelemetry: one SDK tracer provider per process, spans
kept in memory, or written to a file as JSON lines (for another process)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

MEMORY = InMemorySpanExporter()


class Switch(Sampler):
    """Samples while ``on``: the tests turn tracing off again for the tests
    that follow in the same process (the global provider cannot be unset)."""

    def __init__(self) -> None:
        self.on = True

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if not self.on:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "Switch"


SWITCH = Switch()


def record(span: ReadableSpan) -> dict[str, Any]:
    """What the tests compare: names, ids, parent, status, attributes."""
    ctx = span.get_span_context()
    assert ctx is not None
    return {
        "name": span.name,
        "trace": trace.format_trace_id(ctx.trace_id),
        "span": trace.format_span_id(ctx.span_id),
        "parent": trace.format_span_id(span.parent.span_id) if span.parent else None,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "start": span.start_time,
        "end": span.end_time,
    }


class FileExporter(SpanExporter):
    """Append each span to a file as one JSON line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self.path.open("a", encoding="utf-8") as out:
            for span in spans:
                out.write(json.dumps(record(span)) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


_INSTALLED: list[SpanExporter] = []


def install(exporter: SpanExporter) -> None:
    """Set the global SDK provider once for this process (OpenTelemetry allows
    one), exporting to ``exporter`` (once, however often it is asked)."""
    if any(e is exporter for e in _INSTALLED):
        return
    _INSTALLED.append(exporter)
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.get_tracer_provider().add_span_processor(  # type: ignore[attr-defined]
            SimpleSpanProcessor(exporter)
        )
        return
    provider = TracerProvider(sampler=SWITCH)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


_READERS: list[Any] = []


def metric_reader() -> Any:
    """The process's ``InMemoryMetricReader`` (the global meter provider is set once)."""
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    if not _READERS:
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        _READERS.append(reader)
    return _READERS[0]


def points(reader: Any) -> dict[str, list[Any]]:
    """Metric name -> its data points, as the reader collects them now."""
    out: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


#: the W1-like app the telemetry tests trace: a trigger, then one worker
APP = """
app:
  id: otel
  version: '1'
  graphs:
    - subscribes: otel.go
      expire: 60
      activities:
        t:
          type: trigger
        w:
          type: worker
          topic: otel.work
          input: {maps: {n: '{t.output.data.n}'}}
          job: {maps: {n: '{$self.output.data.n}'}}
      transitions:
        t: [{to: w}]
"""
