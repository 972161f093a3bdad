"""The counters counted in process and observed at collection (issue 18)
export what a ``Counter.add`` per event exported: the same points and values,
cumulative or delta as the reader asks (delta: plus a 0 point for a set that
did not change)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import Counter, MeterProvider, ObservableCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
)

from hotmesh.telemetry import meters

#: events as the engine counts them: (counter, attributes)
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("hotmesh.jobs.started", {"hotmesh.app": "a", "hotmesh.topic": "t"}),
    ("hotmesh.jobs.started", {"hotmesh.app": "a", "hotmesh.topic": "t"}),
    ("hotmesh.jobs.started", {"hotmesh.app": "b", "hotmesh.topic": "t"}),
    (
        "hotmesh.jobs.completed",
        {
            "hotmesh.app": "a",
            "hotmesh.topic": "t",
            "hotmesh.job.status": "error",
            "hotmesh.job.code": "503",
        },
    ),
    (
        "hotmesh.retries",
        {"hotmesh.app": "a", "hotmesh.topic": "w", "hotmesh.code": "503"},
    ),
]
MORE: list[tuple[str, dict[str, Any]]] = [
    ("hotmesh.jobs.started", {"hotmesh.app": "a", "hotmesh.topic": "t"}),
    ("hotmesh.messages.poison", {"hotmesh.app": "a", "hotmesh.topic": "$engine"}),
]


Points = dict[tuple[str, Any], Any]


def _points(reader: InMemoryMetricReader) -> tuple[Points, Points]:
    """The new and the old (``old.``) counters' points of one collection:
    (name, attribute items) -> (value, monotonic, temporality)."""
    new: Points = {}
    old: Points = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                into, name = new, metric.name
                if name.startswith("old."):
                    into, name = old, name[4:]
                for point in metric.data.data_points:
                    into[(name, frozenset(point.attributes.items()))] = (
                        point.value,
                        metric.data.is_monotonic,
                        metric.data.aggregation_temporality,
                    )
    return new, old


@pytest.mark.parametrize(
    "temporality", [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]
)
def test_observed_totals_export_what_counter_adds_exported(
    temporality: AggregationTemporality,
) -> None:
    reader = InMemoryMetricReader(
        preferred_temporality={Counter: temporality, ObservableCounter: temporality}
    )
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    totals = {name: meters.Totals() for name in meters.TOTALS}
    meters.create(meter, totals)  # the new way: observable counters
    old = {name: meter.create_counter(f"old.{name}") for name in meters.TOTALS}

    def run(events: list[tuple[str, dict[str, Any]]]) -> None:
        for name, attrs in events:
            old[name].add(1, attrs)
            totals[name].add(tuple(attrs.items()))

    run(EVENTS)
    first_new, first_old = _points(reader)
    run(MORE)
    second_new, second_old = _points(reader)

    assert first_new == first_old
    # delta: an observed set unchanged since the last collection is a 0 point
    # (a Counter exports none): the same sums, one zero point more per set
    changed = {k: v for k, v in second_new.items() if v[0] != 0}
    assert changed == second_old
    if temporality is AggregationTemporality.CUMULATIVE:
        assert second_new == second_old
    else:
        assert len(second_new) == len(first_new) + 1  # the poison counter's
    started_a = (
        "hotmesh.jobs.started",
        frozenset({"hotmesh.app": "a", "hotmesh.topic": "t"}.items()),
    )
    assert first_new[started_a] == (2, True, temporality)
    # cumulative: every add since the start; delta: those since the last collection
    grown = 3 if temporality is AggregationTemporality.CUMULATIVE else 1
    assert second_new[started_a] == (grown, True, temporality)


def test_adds_from_many_threads_are_all_counted() -> None:
    totals = meters.Totals()
    key = (("hotmesh.app", "a"),)

    def work() -> None:
        for _ in range(2000):
            totals.add(key)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [seen] = totals.observe()
    assert seen.value == 8000 and dict(seen.attributes) == {"hotmesh.app": "a"}


def test_shared_attribute_dicts_are_reused_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(meters, "_ATTRIBUTES", {})
    monkeypatch.setattr(meters, "MAX_ATTRIBUTES", 2)
    key = (("hotmesh.app", "a"), ("hotmesh.status", "success"))
    first = meters.attributes(key)
    assert first == {"hotmesh.app": "a", "hotmesh.status": "success"}
    assert meters.attributes(key) is first
    meters.attributes((("hotmesh.app", "b"),))
    meters.attributes((("hotmesh.app", "c"),))  # full: cleared, then kept
    assert len(meters._ATTRIBUTES) == 1
