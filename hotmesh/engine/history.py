"""``export``: a job's full execution history from its activity rows."""

from __future__ import annotations

from typing import Any

from hotmesh.engine import step
from hotmesh.engine.waiting import activity_state
from hotmesh.store.records import JobRow


def export_job(job: JobRow) -> dict[str, Any]:
    """``{data, metadata, status, process, dependencies, activities}``."""
    output = step.job_output(job)
    process: dict[str, Any] = {}
    activities = []
    for row in job.activities:
        level = process
        for part in [p for p in row.dimension.split(",") if p]:
            level = level.setdefault(part, {})
        entry: dict[str, Any] = {"output": row.output or {}}
        if row.input is not None:
            entry["input"] = {"data": row.input}
        if row.hook is not None:
            entry["hook"] = {"data": row.hook}
        level[row.activity_id] = entry
        duration = None
        if row.started_at and row.ended_at:
            duration = (row.ended_at - row.started_at).total_seconds() * 1000
        activities.append(
            {
                "name": row.activity_id,
                "type": row.type,
                "dimension": row.dimension,
                "input": row.input if row.input is not None else {},
                "output": (row.output or {}).get("data"),
                "error": row.error,
                "started_at": row.started_at.isoformat() if row.started_at else None,
                "ended_at": row.ended_at.isoformat() if row.ended_at else None,
                "duration_ms": duration,
                "done": row.done,
                # done, error, running, or "waiting for an answer" (a worker
                # callback returned None: the answer comes through hm.add)
                "state": activity_state(row),
            }
        )
    return {
        "data": output.get("data", {}),
        "metadata": output["metadata"],
        "status": str(job.status),
        "process": process,
        "dependencies": [],
        "activities": activities,
    }
