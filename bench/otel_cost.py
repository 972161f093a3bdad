"""Cost of hotmesh's OpenTelemetry hooks when tracing is off (issue 18).

A W1 job passes through the hooks: one ``start_job``/``opened``/``job_done``
in the publishing process, ``committed`` once per committed step (three
steps: spans and metrics), the log context around each engine message (three)
and each worker callback (two), and ``worker_span`` plus the callback
duration measure around each of its two worker callbacks. This
times that sequence with tracing off, in two states: the ``otel`` extra not
installed, and the API installed with no SDK provider set. Divide by the W1
latency (``bench/run.py``) for the share of a job::

    python bench/otel_cost.py
"""

from __future__ import annotations

import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotmesh import telemetry
from hotmesh.engine.commit import StepCommit
from hotmesh.store.records import ActivityRow, JobRow
from hotmesh.telemetry import logs, meters

METADATA = {"jid": "j", "aid": "w1", "dad": ",0,0", "try": 0}
JOB = JobRow(1, "j", "g", "", "w1.start", "1", 1, {"jid": "j", "app": "w1"}, {})
COMMIT = StepCommit(
    job=JOB, activities=[ActivityRow("w1", ",0,0", "worker", 2, True, {}, {})]
)


def one_job() -> None:
    fields = telemetry.start_job("w1", "w1.start", "owner")
    telemetry.opened("j", fields)
    for _ in range(3):
        with logs.context("w1", "j", "w1", "", METADATA):
            telemetry.committed(COMMIT)
    for _ in range(2):
        with logs.context("w1", "j", "w1", "w1.a", METADATA):
            with telemetry.worker_span("w1.a", METADATA):
                began = time.monotonic()
                where = {"hotmesh.app": "w1", "hotmesh.topic": "w1.a"}
                spent = time.monotonic() - began
                meters.record("hotmesh.worker.duration", spent, where)
    telemetry.job_done("j", None)


def per_job_ns(runs: int = 200_000) -> float:
    best = min(timeit.repeat(one_job, number=runs, repeat=5))
    return best / runs * 1e9


def main() -> None:
    api = telemetry.trace is not None
    with_api = per_job_ns() if api else None
    saved, telemetry.trace = telemetry.trace, None  # as without the extra
    without = per_job_ns()
    telemetry.trace = saved
    print(f"hooks of one W1 job, tracing off, extra not installed: {without:,.0f} ns")
    if with_api is not None:
        print(
            f"hooks of one W1 job, API installed, no SDK provider: {with_api:,.0f} ns"
        )
    else:
        print("opentelemetry-api is not installed: the second state was not measured")


if __name__ == "__main__":
    main()
