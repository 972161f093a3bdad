"""OpenTelemetry metrics through the global meter provider (issue 18).

Recorded by the engine that commits each step, so add every process's counts.
Off (no API, no SDK meter provider) every entry point returns at its first
check; an unset provider is asked again at most once a second.

The counters are counted here, by attribute set, and reported as observable
counters when the SDK collects (cumulative and monotonic, the values a
``Counter.add`` per event would give): the SDK's work per ``add`` (the
attributes cleaned, copied, sorted and hashed, an exemplar offered) cost as
much as a histogram's record, for an addition. The histograms' attribute
sets are built once and reused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from hotmesh.telemetry import gauges
from hotmesh.telemetry._base import RECHECK, VERSION, error_code, metrics, stamp_ns

if TYPE_CHECKING:
    from hotmesh.engine.commit import StepCommit
    from hotmesh.telemetry import Finished


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


#: name -> (kind, unit, description) of every instrument but the gauges
SPECS: dict[str, tuple[str, str, str]] = {
    "hotmesh.jobs.started": ("counter", "{job}", "Jobs created"),
    "hotmesh.jobs.completed": (
        "counter",
        "{job}",
        "Jobs ended, by status (success, error) and code",
    ),
    "hotmesh.jobs.failed": ("counter", "{job}", "Jobs ended with an error, by code"),
    "hotmesh.signals.delivered": (
        "counter",
        "{signal}",
        "Signals that resumed a waiting hook (at once, or when it began waiting)",
    ),
    "hotmesh.signals.early": (
        "counter",
        "{signal}",
        "Signals kept because no hook waited for them yet",
    ),
    "hotmesh.claims.reclaimed": (
        "counter",
        "{message}",
        "Messages claimed again after an earlier claim lapsed",
    ),
    "hotmesh.messages.poison": (
        "counter",
        "{message}",
        "Messages given up after too many claims",
    ),
    "hotmesh.retries": ("counter", "{retry}", "Worker attempts retried"),
    "hotmesh.job.duration": ("histogram", "s", "Job creation to end"),
    "hotmesh.activity.duration": (
        "histogram",
        "s",
        "Activity start to end, by activity id",
    ),
    "hotmesh.worker.duration": ("histogram", "s", "One worker callback attempt"),
    "hotmesh.timer.lateness": (
        "histogram",
        "s",
        "A timer's due time to when its step ran",
    ),
}


#: an attribute set as a key: its ``(name, value)`` pairs, in a fixed order
Key = tuple[tuple[str, Any], ...]


class Totals:
    """One counter's totals by attribute set, counted in process and read by
    the SDK at collection (an observable counter's callback)."""

    def __init__(self) -> None:
        self._totals: dict[Key, int] = {}
        # adds come from event loops, the collection from the reader's thread
        self._lock = threading.Lock()

    def add(self, key: Key, value: int = 1) -> None:
        with self._lock:
            self._totals[key] = self._totals.get(key, 0) + value

    def observe(self, _options: Any = None) -> Iterable[Any]:
        """The totals as observations (cumulative: every add since the start)."""
        with self._lock:
            found = list(self._totals.items())
        return [metrics.Observation(total, dict(key)) for key, total in found]


#: the counters' totals, by counter name
TOTALS: dict[str, Totals] = {
    name: Totals() for name, (kind, _, _) in SPECS.items() if kind == "counter"
}


def create(meter: Any, totals: dict[str, Totals]) -> dict[str, Any]:
    """The instruments of :data:`SPECS` on ``meter``: an observable counter
    reading ``totals[name]`` for each counter, a histogram for the others."""
    made: dict[str, Any] = {}
    for name, (kind, unit, text) in SPECS.items():
        if kind == "counter":
            made[name] = meter.create_observable_counter(
                name, callbacks=[totals[name].observe], unit=unit, description=text
            )
        else:
            made[name] = meter.create_histogram(name, unit=unit, description=text)
    return made


def _instruments() -> dict[str, Any]:
    if not _INSTRUMENTS:
        meter = metrics.get_meter("hotmesh", VERSION or "")
        _INSTRUMENTS.update(create(meter, TOTALS))
        gauges.create(meter)
    return _INSTRUMENTS


#: attribute dicts by their key: the histograms' are reused, not rebuilt per
#: record (the SDK copies what it keeps); cleared when full
_ATTRIBUTES: dict[Key, dict[str, Any]] = {}
MAX_ATTRIBUTES = 4096


def attributes(key: Key) -> dict[str, Any]:
    """The (shared: not to be changed) attribute dict of ``key``."""
    found = _ATTRIBUTES.get(key)
    if found is None:
        if len(_ATTRIBUTES) >= MAX_ATTRIBUTES:
            _ATTRIBUTES.clear()
        found = _ATTRIBUTES[key] = dict(key)
    return found


def add(name: str, attributes: dict[str, Any], value: int = 1) -> None:
    """Add to counter ``name`` (nothing when not metering)."""
    if metering():
        _instruments()
        TOTALS[name].add(tuple(attributes.items()), value)


def record(name: str, value: float, attributes: dict[str, Any]) -> None:
    """Record ``value`` in histogram ``name`` (nothing when not metering)."""
    if metering():
        _instruments()[name].record(value, attributes)


_APP, _TOPIC = "hotmesh.app", "hotmesh.topic"
_STARTED = TOTALS["hotmesh.jobs.started"]
_COMPLETED = TOTALS["hotmesh.jobs.completed"]
_FAILED = TOTALS["hotmesh.jobs.failed"]


def _measure(commit: StepCommit, done: Sequence[Finished]) -> None:
    job = commit.job
    md = job.metadata
    app, topic = str(md.get("app", "")), job.topic
    ins = _instruments()
    if commit.new_job:
        _STARTED.add(((_APP, app), (_TOPIC, topic)))
    if done:
        took = ins["hotmesh.activity.duration"]
        for item in done:
            if item.start is None or item.end is None:
                continue
            row = item.row
            key: Key = (
                (_APP, app),
                (_TOPIC, topic),
                ("hotmesh.activity.id", row.activity_id),
                ("hotmesh.activity.type", row.type),
                ("hotmesh.activity.status", "error" if row.error else "success"),
            )
            took.record((item.end - item.start) / 1e9, attributes(key))
    if commit.completion is not None:
        code = error_code(job.err)[0] if job.err else "200"
        status = ("hotmesh.job.status", "error" if job.err else "success")
        _COMPLETED.add(
            ((_APP, app), (_TOPIC, topic), status, ("hotmesh.job.code", code))
        )
        if job.err:
            _FAILED.add(((_APP, app), (_TOPIC, topic), ("hotmesh.job.code", code)))
        start, end = stamp_ns(md.get("jc")), stamp_ns(md.get("ju"))
        if start is not None and end is not None:
            ended = attributes(((_APP, app), (_TOPIC, topic), status))
            ins["hotmesh.job.duration"].record((end - start) / 1e9, ended)


def refresh() -> None:
    """Ask for the meter provider again at the next measure."""
    global _UNMETERED_SINCE
    _UNMETERED_SINCE = -1e9


def measure(commit: StepCommit, done: Sequence[Finished]) -> None:
    """A committed step's measures (``done``: the activities it finished, as
    :func:`hotmesh.telemetry.finished` tells them), when metering."""
    if metering():
        _measure(commit, done)


def watch(app: str, read: gauges.Reader) -> gauges.Watch:
    """Serve app ``app``'s database figures to the observable gauges."""
    if metering():
        _instruments()  # the gauges exist before the first step is measured
    return gauges.watch(app, read)
