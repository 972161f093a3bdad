"""Managing workflows: list them with their outcome, describe one, cancel or
terminate many at once."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hotmesh import errors
from hotmesh.engine.inline import LAST_FAILURE
from hotmesh.engine.options import check_keys
from hotmesh.memflow.timeouts import TIMED_OUT
from hotmesh.store.records import JobRow

if TYPE_CHECKING:
    from hotmesh.memflow.client import Client, WorkflowHandle
    from hotmesh.mesh import HotMesh

#: the outcomes a workflow has (``list_workflows(status=)``, ``describe()``)
STATUSES = ("running", "completed", "failed", "cancelled", "terminated", "timed_out")
#: the keys of a filter (``list_workflows`` and the bulk calls)
FILTER_KEYS = (
    "workflow_name",
    "status",
    "task_queue",
    "started_after",
    "started_before",
    "search",
)
MAX_LIMIT = 1000


@dataclass
class WorkflowPage:
    """One page of ``list_workflows``: ``workflows`` (dicts, newest first) and
    ``cursor`` for the next page (None on the last)."""

    workflows: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None


def _when(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _when(datetime.fromisoformat(value), name)
        except ValueError:
            pass
    raise errors.ConfigError(
        f"list_workflows: {name} is a datetime or ISO 8601 text, not {value!r}"
    )


def check_filter(filters: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The filter as the store takes it; ``ConfigError`` naming a bad key or value."""
    check_keys(filters, FILTER_KEYS, where)
    out = dict(filters)
    status = out.get("status")
    if status is not None and status not in STATUSES:
        raise errors.ConfigError(
            f"{where}: status {status!r} is not one of {', '.join(STATUSES)}"
        )
    out["started_after"] = _when(out.get("started_after"), "started_after")
    out["started_before"] = _when(out.get("started_before"), "started_before")
    search = out.get("search")
    if search is not None:
        if not isinstance(search, Mapping):
            raise errors.ConfigError(f"{where}: search is a dict of field: value")
        out["search"] = {f"_{k}": v for k, v in search.items()}
    return out


def _cursor(row: dict[str, Any]) -> str:
    raw = json.dumps([row["created_at"].isoformat(), int(row["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    if cursor is None:
        return None
    try:
        stamp, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, TypeError) as exc:
        raise errors.ConfigError(
            f"list_workflows: cursor {cursor!r} is not one this call returned"
        ) from exc


async def list_workflows(
    client: Client, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> WorkflowPage:
    """One page of workflows matching ``filters``."""
    wanted = check_filter(filters, "list_workflows")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise errors.ConfigError(
            f"list_workflows: limit is 1 to {MAX_LIMIT}, not {limit!r}"
        )
    hm = await client.mesh()
    rows = await hm.store.list_workflows(
        client.namespace, f"{client.namespace}.execute", wanted, _after(cursor), limit
    )
    page = WorkflowPage(
        [
            {
                "workflow_id": row["job_id"],
                "workflow_name": row["workflow_name"],
                "task_queue": row["task_queue"],
                "status": row["status"],
                "started_at": row["created_at"],
                "updated_at": row["updated_at"],
            }
            for row in rows
        ]
    )
    if len(rows) == limit:
        page.cursor = _cursor(rows[-1])
    return page


def outcome(job: JobRow) -> str:
    """running, completed, failed, cancelled, terminated or timed_out."""
    if job.status > 0:
        return "running"
    if job.err is None:
        return "completed"
    if ((job.data.get("error") or {}).get("type")) == "CancelledError":
        return "cancelled"
    try:
        err = json.loads(job.err)
    except ValueError:
        err = {}
    if isinstance(err, dict) and err.get("code") == 410:
        return "terminated"
    if isinstance(err, dict) and err.get("code") == TIMED_OUT:
        return "timed_out"
    return "failed"


def _stamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def _error(job: JobRow) -> dict[str, Any] | None:
    """The failure ``describe`` shows: the workflow's own, else the job's
    (a termination carries only the reason it was given)."""
    if job.status > 0 or job.err is None:
        return None
    own = job.data.get("error")
    if isinstance(own, dict):
        return own
    try:
        err = json.loads(job.err)
    except ValueError:
        err = {"message": job.err}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    code = err.get("code")
    kind = {410: "Terminated", TIMED_OUT: "TimedOut"}.get(
        code if isinstance(code, int) else 0, "Error"
    )
    return {"type": kind, "message": str(err.get("message") or "")}


async def describe(handle: WorkflowHandle[Any]) -> dict[str, Any]:
    """Status, times, the steps still open (activities with their attempts and
    last failure, children), search fields and the error."""
    hm = await handle.client.mesh()
    job = await hm.engine.read(
        handle.workflow_id, include_expired=True, with_activities=True
    )
    if job is None:
        raise errors.JobNotFoundError(handle.workflow_id)
    data = job.data
    running = job.status > 0
    pending = [
        {
            "activity": act.activity_id,
            "type": act.type,
            "dimension": act.dimension,
            "started_at": act.started_at,
        }
        for act in job.activities
        if not act.done
    ]
    activities: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    if running:
        activities, children = await _open_work(hm, handle.client.namespace, job)
    return {
        "workflow_id": handle.workflow_id,
        "workflow_name": data.get("workflowName"),
        "task_queue": data.get("taskQueue"),
        "status": outcome(job),
        "started_at": _stamp(job.metadata.get("jc")),
        "updated_at": _stamp(job.metadata.get("ju")),
        "generation": data.get("generation"),
        "run_id": job.gid,
        "pending": pending if running else [],
        "pending_activities": activities,
        "pending_children": children,
        "search": {k[1:]: v for k, v in data.items() if k.startswith("_")},
        "error": _error(job),
    }


#: children listed by ``describe`` at most
MAX_CHILDREN = 100


async def _open_work(
    hm: HotMesh, namespace: str, job: JobRow
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The running activities (the workflow's own and those of its open
    ``gather`` jobs) with their attempt, and the running child workflows."""
    kids = await hm.store.child_jobs(namespace, job.job_id)
    open_kids = [k for k in kids if k["status"] > 0]
    jobs = [job]
    children: list[dict[str, Any]] = []
    for kid in open_kids:
        if kid["topic"] == f"{namespace}.collator.execute":
            row = await hm.engine.read(kid["job_id"], with_activities=True)
            if row is not None:
                jobs.append(row)
        elif kid["topic"] == f"{namespace}.execute" and len(children) < MAX_CHILDREN:
            row = await hm.engine.read(kid["job_id"])
            children.append(
                {
                    "workflow_id": kid["job_id"],
                    "workflow_name": None
                    if row is None
                    else row.data.get("workflowName"),
                    "task_queue": None if row is None else row.data.get("taskQueue"),
                    "started_at": kid["created_at"],
                }
            )
    work = await hm.store.job_work(namespace, [j.job_id for j in jobs])
    by_step: dict[tuple[str, str, str], dict[str, Any]] = {}
    for queued in work:
        raw = queued["metadata"]
        meta = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
        key = (str(queued["job_id"]), str(meta.get("aid")), str(meta.get("dad")))
        by_step[key] = {**queued, "metadata": meta}
    activities = []
    for row in jobs:
        for act in row.activities:
            payload = (act.input or {}).get("payload") if not act.done else None
            if not isinstance(payload, dict) or "name" not in payload:
                continue
            msg = by_step.get((row.job_id, act.activity_id, act.dimension))
            md: dict[str, Any] = {} if msg is None else msg["metadata"]
            activities.append(
                {
                    "activity": payload.get("name"),
                    "marker": payload.get("marker"),
                    "args": payload.get("args"),
                    "scheduled_at": act.started_at,
                    # None: its answer is being written (no message waits)
                    "attempt": None if msg is None else int(md.get("try") or 0) + 1,
                    "last_failure": md.get(LAST_FAILURE),
                    "running": None if msg is None else bool(msg["claimed"]),
                    "next_attempt_at": None
                    if msg is None or msg["claimed"]
                    else msg["visible_at"],
                }
            )
    return activities, children


async def bulk(
    client: Client, filters: Mapping[str, Any], action: str
) -> dict[str, int]:
    """Cancel or terminate every running workflow matching ``filters``."""
    where = f"{action}_workflows"
    wanted = dict(filters)
    done_key = "cancelled" if action == "cancel" else "terminated"
    if wanted.get("status", "running") != "running":
        raise errors.ConfigError(f"{where}: only running workflows can be {done_key}")
    wanted["status"] = "running"
    check_filter(wanted, where)
    counts = {"matched": 0, done_key: 0, "skipped": 0}
    cursor: str | None = None
    while True:
        page = await list_workflows(client, wanted, MAX_LIMIT, cursor)
        for item in page.workflows:
            counts["matched"] += 1
            handle = client.workflow.get_handle(
                item["task_queue"], item["workflow_name"], item["workflow_id"]
            )
            try:
                if action == "cancel":
                    await handle.cancel()
                else:
                    await handle.terminate(f"terminated by {where}")
                counts[done_key] += 1
            except (errors.JobInactiveError, errors.JobNotFoundError):
                counts["skipped"] += 1  # it ended meanwhile
        if page.cursor is None:
            return counts
        cursor = page.cursor
