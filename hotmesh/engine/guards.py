"""Bounds one job's step holds to (no I/O): durations it can schedule, legs it runs
inline, steps it may take in all.

Every job shares the event loop with every other job in the process, so a
step must stay short, and every value it writes must be one the database can
store. A value that cannot be scheduled fails the job at once, naming the
field, instead of failing in the database and being retried as if the
connection had dropped (issue 20 §3, §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotmesh import errors
from hotmesh.compiler.ranges import duration_problem, is_number

#: Default cap on the steps of one job (``engine={'max_steps': ...}``).
MAX_STEPS = 100_000
#: Activity legs one step runs inline; the rest go out as ``transition``
#: messages, each an ordinary step, so a fan-out yields to other jobs.
FANOUT_BATCH = 100


@dataclass(frozen=True, slots=True)
class StepLimits:
    """What one job may do: cycle re-entries, steps in all, legs per step."""

    max_cycles: int = 10_000
    max_steps: int = MAX_STEPS
    fanout_batch: int = FANOUT_BATCH


def sleep_seconds(aid: str, value: Any) -> float | None:
    """The timer of a hook whose ``sleep`` resolved to ``value``; None: no timer."""
    if not is_number(value) or not value > 0:
        return None  # 0, negative, NaN, null: a passthrough (spec §4.10)
    problem = duration_problem(value, negative="no sleep")
    if problem is not None:
        raise errors.InvalidDataError(f"activity '{aid}': sleep {problem}")
    return float(value)


def expire_seconds(where: str, value: Any, field: str = "expire") -> float | None:
    """A resolved ``expire`` as seconds (None when not a number, or NaN: the
    default applies); out of range raises."""
    if not is_number(value) or value != value:  # NaN is not equal to itself
        return None
    problem = duration_problem(value, negative=None)
    if problem is not None:
        raise errors.InvalidDataError(f"{where}: {field} {problem}")
    return float(value)


def count_step(metadata: dict[str, Any], limit: int) -> str | None:
    """Count one more step of a job in ``metadata['sc']``; the error past ``limit``."""
    count = metadata.get("sc")
    count = (count if isinstance(count, int) else 0) + 1
    metadata["sc"] = count
    if count > limit:
        return (
            f"job took more than {limit:,} steps (the max_steps limit): it loops "
            "without end, or needs a higher engine={'max_steps': ...}"
        )
    return None
