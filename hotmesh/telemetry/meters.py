"""OpenTelemetry metrics through the global meter provider (issue 18).

Recorded by the engine that commits each step, so add every process's counts.
Off (no API, no SDK meter provider) every entry point returns at its first
check; an unset provider is asked again at most once a second.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
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


def _instruments() -> dict[str, Any]:
    if not _INSTRUMENTS:
        meter = metrics.get_meter("hotmesh", VERSION or "")
        for name, (kind, unit, text) in SPECS.items():
            make = meter.create_counter if kind == "counter" else meter.create_histogram
            _INSTRUMENTS[name] = make(name, unit=unit, description=text)
        gauges.create(meter)
    return _INSTRUMENTS


def add(name: str, attributes: dict[str, Any], value: int = 1) -> None:
    """Add to counter ``name`` (nothing when not metering)."""
    if metering():
        _instruments()[name].add(value, attributes)


def record(name: str, value: float, attributes: dict[str, Any]) -> None:
    """Record ``value`` in histogram ``name`` (nothing when not metering)."""
    if metering():
        _instruments()[name].record(value, attributes)


def _measure(commit: StepCommit, done: Sequence[Finished]) -> None:
    job = commit.job
    md = job.metadata
    base = {"hotmesh.app": str(md.get("app", "")), "hotmesh.topic": job.topic}
    ins = _instruments()
    if commit.new_job:
        ins["hotmesh.jobs.started"].add(1, base)
    if done:
        took = ins["hotmesh.activity.duration"]
        for item in done:
            if item.start is None or item.end is None:
                continue
            row = item.row
            took.record(
                (item.end - item.start) / 1e9,
                {
                    **base,
                    "hotmesh.activity.id": row.activity_id,
                    "hotmesh.activity.type": row.type,
                    "hotmesh.activity.status": "error" if row.error else "success",
                },
            )
    if commit.completion is not None:
        code = error_code(job.err)[0] if job.err else "200"
        status = {**base, "hotmesh.job.status": "error" if job.err else "success"}
        ins["hotmesh.jobs.completed"].add(1, {**status, "hotmesh.job.code": code})
        if job.err:
            ins["hotmesh.jobs.failed"].add(1, {**base, "hotmesh.job.code": code})
        start, end = stamp_ns(md.get("jc")), stamp_ns(md.get("ju"))
        if start is not None and end is not None:
            ins["hotmesh.job.duration"].record((end - start) / 1e9, status)


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
