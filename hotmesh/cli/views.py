"""Rich renderings shared by commands: a job's history timeline and its child-job tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from hotmesh import errors
from hotmesh.cli.common import when
from hotmesh.engine.explain import lines as why_lines
from hotmesh.engine.history import export_job
from hotmesh.engine.waiting import WAITING_FOR_ANSWER
from hotmesh.store import job_state
from hotmesh.store.postgres import PostgresStore

#: How deep ``history`` follows child jobs (a guard against cyclic parent ids).
MAX_DEPTH = 8

_STATE_STYLE = {
    "scheduled": "cyan",
    "running": "yellow",
    "done": "green",
    "error": "red",
}


@dataclass
class JobHistory:
    """One job's summary row, its export, and its child jobs' histories."""

    summary: dict[str, Any]
    export: dict[str, Any]
    children: list[JobHistory] = field(default_factory=list)


async def load_history(
    opened: PostgresStore,
    app_id: str,
    job_id: str,
    depth: int = 0,
    explain: bool = False,
) -> JobHistory:
    """Read a job, its activity rows, and (recursively) its child jobs;
    ``explain`` adds each run's transitions record (``why``) to its activity."""
    # Finished jobs expire (``expire`` seconds) but keep their rows; the
    # history of an expired job is still worth showing.
    job = await opened.read_job(
        app_id, job_id, with_activities=True, include_expired=True
    )
    if job is None:
        raise errors.JobNotFoundError(job_id)
    export = export_job(job)
    if explain:  # export's activities are the rows, in the same order
        for entry, row in zip(export["activities"], job.activities, strict=True):
            if row.why is not None:
                entry["why"] = row.why
    summary = await opened.job_summary(app_id, job_id) or {}
    node = JobHistory(summary, export)
    if depth < MAX_DEPTH:
        for child in await opened.child_jobs(app_id, job_id):
            try:
                node.children.append(
                    await load_history(
                        opened, app_id, child["job_id"], depth + 1, explain
                    )
                )
            except errors.HotMeshError:  # scrubbed meanwhile: show its row only
                node.children.append(JobHistory(child, {"activities": []}))
    return node


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return None


def _in_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Start order; rows written by one step share a timestamp, so the shallower
    dimension (the earlier activity) goes first, then the earlier finish."""
    far = datetime.max.replace(tzinfo=UTC)

    def key(row: dict[str, Any]) -> tuple[datetime, int, datetime]:
        started = _parse(row.get("started_at")) or far
        ended = _parse(row.get("ended_at")) or far
        return started, str(row.get("dimension") or "").count(","), ended

    return sorted(rows, key=key)


def _duration(ms: Any) -> str:
    if ms is None:
        return ""
    ms = float(ms)
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def _activity_status(row: dict[str, Any]) -> str:
    error = row.get("error")
    if error:
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message", "")
            return f"[red]error {escape(str(code or ''))}[/] {escape(str(message))}"
        return f"[red]error[/] {escape(str(error))}"
    if row.get("done"):
        return "[green]done[/]"
    if row.get("state") == WAITING_FOR_ANSWER:
        return f"[yellow]{WAITING_FOR_ANSWER}[/] (hm.add)"
    return "[yellow]running[/]"


def _job_label(summary: dict[str, Any], job_id: str) -> str:
    if "status" not in summary:
        return escape(job_id)
    state = job_state(summary)
    style = _STATE_STYLE[state]
    parts = [f"[bold]{escape(job_id)}[/]", escape(str(summary.get("topic", "")))]
    created, updated = summary.get("created_at"), summary.get("updated_at")
    if created:
        parts.append(f"started {when(created)} UTC")
    if state != "running" and created and updated:
        parts.append(_duration((updated - created).total_seconds() * 1000))
    parts.append(f"[{style}]{state}[/]")
    return "  ".join(p for p in parts if p)


def timeline(history: JobHistory) -> Table:
    """Every activity row of one job, in start order."""
    summary = history.summary
    job_id = str(summary.get("job_id", history.export.get("metadata", {}).get("jid")))
    table = Table(
        "activity",
        "dimension",
        "type",
        "started",
        "duration",
        "status",
        title=_job_label(summary, job_id),
        title_justify="left",
    )
    for row in _in_order(history.export.get("activities", [])):
        table.add_row(
            escape(str(row["name"])),
            escape(str(row.get("dimension") or "")),
            escape(str(row.get("type", ""))),
            when(_parse(row.get("started_at")), date=False),
            _duration(row.get("duration_ms")),
            _activity_status(row),
        )
    return table


def _add_children(tree: Tree, history: JobHistory) -> None:
    for child in history.children:
        job_id = str(child.summary.get("job_id", "?"))
        branch = tree.add(_job_label(child.summary, job_id))
        for row in _in_order(child.export.get("activities", [])):
            branch.add(
                f"{escape(str(row['name']))} [dim]{escape(str(row.get('type', '')))}[/]"
                f"  {_duration(row.get('duration_ms'))}  {_activity_status(row)}"
            )
        _add_children(branch, child)


def why_tree(history: JobHistory) -> Tree:
    """Why this branch: per activity run, each transition, whether it fired
    and the values its conditions compared."""
    job_id = str(history.summary.get("job_id", "?"))
    tree = Tree(f"why this branch: {escape(job_id)}")
    for row in _in_order(history.export.get("activities", [])):
        text = why_lines(row.get("why"))
        if not text:
            continue
        branch = tree.add(
            f"{escape(str(row['name']))} [dim]{escape(str(row.get('dimension') or ''))}"
            f"  code {escape(str(row['why'].get('code')))}[/]"
        )
        for line in text:
            style = "green" if ": fired" in line else "dim"
            branch.add(f"[{style}]{escape(line)}[/]")
    return tree


def render_history(history: JobHistory, explain: bool = False) -> RenderableType:
    """The job's timeline, then (``explain``) why each run took its branch,
    then its child jobs as a tree (when it has any)."""
    parts: list[RenderableType] = [timeline(history)]
    if explain:
        parts.append(why_tree(history))
    if history.children:
        job_id = str(history.summary.get("job_id", "?"))
        tree = Tree(f"child jobs of {escape(job_id)}")
        _add_children(tree, history)
        parts.append(tree)
    return Group(*parts)


def history_document(history: JobHistory) -> dict[str, Any]:
    """The history as JSON: the export plus ``children`` (same shape, recursively)."""
    return {
        **history.export,
        "activities": _in_order(history.export.get("activities", [])),
        "job": history.summary,
        "children": [history_document(c) for c in history.children],
    }
