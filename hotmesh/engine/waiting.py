"""What a running job waits on, in words (pure): for timeouts, ``status`` and ``history``.

A worker callback that returns ``None`` means "I will answer later through
``hm.add``"; the engine marks the activity row with ``waiting: answer`` (and
the topic), so a forgotten ``return`` reads as "waiting for an answer"
instead of a job that runs for ever without a word.
"""

from __future__ import annotations

from typing import Any

from hotmesh.compiler import Plan
from hotmesh.store.records import ActivityRow, JobRow

#: the state of an activity whose worker answered ``None``
WAITING_FOR_ANSWER = "waiting for an answer"


def activity_state(row: ActivityRow) -> str:
    """``done``, ``error``, ``waiting for an answer`` or ``running``."""
    if row.error:
        return "error"
    if row.done:
        return "done"
    if _marker(row).get("waiting") == "answer":
        return WAITING_FOR_ANSWER
    return "running"


def _marker(row: ActivityRow) -> dict[str, Any]:
    output = row.output if isinstance(row.output, dict) else {}
    meta = output.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _topic(plan: Plan | None, row: ActivityRow) -> str | None:
    marked = _marker(row).get("topic")
    if isinstance(marked, str):
        return marked
    act = plan.activities.get(row.activity_id) if plan is not None else None
    if act is None or act.topic is None:
        return None
    if act.topic.is_constant:
        value = act.topic.evaluate({})
        return value if isinstance(value, str) else None
    return str(act.topic.source)


def waits(plan: Plan | None, job: JobRow) -> list[str]:
    """One phrase per open activity of ``job`` (read with its activity rows)."""
    out: list[str] = []
    for row in job.activities:
        if row.done or row.error or row.type in ("trigger", "cycle"):
            continue
        what = f"activity '{row.activity_id}'"
        topic = _topic(plan, row)
        if row.type == "worker":
            where = f"worker topic '{topic}'" if topic else "a worker"
            if activity_state(row) == WAITING_FOR_ANSWER:
                out.append(f"{what} ({where}), {WAITING_FOR_ANSWER} through hm.add()")
            else:
                out.append(f"{what} ({where})")
        elif row.type == "await":
            where = f" on '{topic}'" if topic else ""
            out.append(f"{what} (a child job{where})")
        elif row.type == "hook":
            out.append(f"{what} (a hook: a signal or its timer)")
        else:
            out.append(f"{what} ({row.type})")
    return out


__all__ = ["WAITING_FOR_ANSWER", "activity_state", "waits"]
