"""CPU time of the pure step alone: a W1 job's three steps, no I/O.

    python bench/pure_step.py [--jobs 5000]

``step.trigger`` and the two ``step.apply`` of a worker response, with the
job advanced between them as the state cache does; prints microseconds of
CPU per job (after 500 untimed warm-up jobs). Run it against another commit
with ``PYTHONPATH=<exported copy>`` to compare.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from hotmesh.compiler import compile_source
from hotmesh.engine import step
from hotmesh.engine.commit import advance

PLAN = compile_source((Path(__file__).parent / "graphs" / "w1.yaml").read_text())
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def one_job(n: int) -> None:
    """Trigger a W1 job and answer its two workers."""
    commit = step.trigger(PLAN, PLAN.graphs[0], {"n": n}, NOW)
    job = advance(commit.job, commit, commit.delta)
    for _ in range(2):
        (msg,) = [m for m in commit.messages if m.type == "worker"]
        answer = {
            "metadata": msg.payload["metadata"],
            "status": "success",
            "code": 200,
            "data": {"a": n + 1, "b": 2 * n},
        }
        commit = step.apply(PLAN, job, "response", answer, NOW)
        job = advance(job, commit)
    if commit.completion is None:
        raise SystemExit("the W1 job did not complete")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    jobs = parser.parse_args().jobs
    for n in range(500):
        one_job(n)
    start = time.process_time()
    for n in range(jobs):
        one_job(n)
    print(f"{(time.process_time() - start) / jobs * 1e6:.1f} us CPU per W1 job")


if __name__ == "__main__":
    main()
