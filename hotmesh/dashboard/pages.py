"""The console's pages (GET): each reads through ``ConsoleReads`` and renders
one template. Unknown ids answer 404, unreadable filters 400."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hotmesh import errors
from hotmesh.dashboard import filters, svg
from hotmesh.dashboard.app import Console
from hotmesh.dashboard.security import AUTH_COOKIE, same, session_value
from hotmesh.engine.explain import detail
from hotmesh.memflow import codec as payload_codec
from hotmesh.store import job_state
from hotmesh.store.console import DATA_SCAN

#: jobs the per-activity statistics of an app page look at
STATS_JOBS = 1000
#: escalations the inbox shows, most urgent first
ESCALATIONS_SHOWN = 50


def _params(request: Request) -> dict[str, str]:
    """The query parameters; a repeated one is refused (which would it be?)."""
    seen: dict[str, str] = {}
    for name, value in parse_qsl(request.url.query, keep_blank_values=True):
        if name in seen:
            raise errors.FilterError(name, "given twice: give it once")
        seen[name] = value
    return seen


def _now() -> datetime:
    return datetime.now(UTC)


async def overview(console: Console, request: Request) -> Response:
    reads = await console.reads()
    now = _now()
    per_minute = await reads.per_minute(now - timedelta(minutes=60))
    counts, approximate = await reads.state_counts()
    return console.render(
        request,
        "overview.html",
        counts=counts,
        approximate=approximate,
        chart=svg.per_minute_chart(per_minute, now),
        finished=sum(int(r["done"]) for r in per_minute),
        failed=sum(int(r["failed"]) for r in per_minute),
        backlog=await reads.backlog(),
        processes=await reads.processes(),
        failures=await reads.failures(10),
    )


async def apps(console: Console, request: Request) -> Response:
    store = await console.store()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in await store.list_apps():
        found.setdefault(str(row["app_id"]), []).append(row)
    return console.render(request, "apps.html", apps=found)


async def app(console: Console, request: Request) -> Response:
    app_id = request.path_params["app_id"]
    params = _params(request)
    reads = await console.reads()
    versions = await reads.versions(app_id)
    if not versions:
        raise errors.NotFoundError(f"app {app_id!r} is not deployed")
    wanted = params.get("version")
    chosen = next((v for v in versions if v["active"]), versions[0])
    if wanted:
        matching = [v for v in versions if v["version"] == wanted]
        if not matching:
            known = ", ".join(str(v["version"]) for v in versions)
            raise errors.FilterError(
                "version", f"{wanted!r} is not deployed (deployed: {known})"
            )
        chosen = matching[0]
    stats = await reads.activity_stats(app_id, str(chosen["version"]), STATS_JOBS)
    plan = chosen["plan"]
    diagrams = [
        (graph, svg.graph_diagram(plan, graph, stats))
        for graph in plan.get("graphs", [])
    ]
    return console.render(
        request,
        "app.html",
        app_id=app_id,
        versions=versions,
        chosen=chosen,
        diagrams=diagrams,
        hooks=plan.get("hooks", {}),
        stats_jobs=STATS_JOBS,
    )


def _after(request: Request, created_at: datetime, pk: int) -> str:
    """This page's URL continuing after the row ``(created_at, pk)``."""
    params = {k: v for k, v in _params(request).items() if k != "before"}
    params["before"] = filters.cursor(created_at, pk)
    return f"{request.url.path}?{urlencode(params)}"


def _next_link(request: Request, rows: list[dict[str, Any]], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return _after(request, last["created_at"], int(last["id"]))


async def jobs(console: Console, request: Request) -> Response:
    params = _params(request)
    where, page = filters.job_filter(params)
    reads = await console.reads()
    scanned = None
    if where.data is None:
        rows = await reads.jobs(where, page.after, page.limit + 1)
        next_link = _next_link(request, rows, page.limit)
    else:  # a data filter reads a bounded number of jobs per page
        rows, scanned, edge = await reads.jobs_scan(where, page.after, page.limit + 1)
        next_link = _next_link(request, rows, page.limit)
        if next_link is None and edge is not None and scanned >= DATA_SCAN:
            next_link = _after(request, *edge)
    return console.render(
        request,
        "jobs.html",
        rows=rows[: page.limit],
        params=params,
        states=filters.STATES,
        next_link=next_link,
        first_page=page.after is None,
        scanned=scanned,
        scan_size=DATA_SCAN,
        limit=page.limit,
    )


def _tree(root: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Descendants nested under their parents (``children`` lists)."""
    by_parent: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_parent.setdefault(str(row["parent_job_id"]), []).append(dict(row))

    def kids(job_id: str, depth: int) -> list[dict[str, Any]]:
        found = by_parent.get(job_id, [])
        for row in found:
            row["children"] = kids(str(row["job_id"]), depth + 1) if depth < 8 else []
        return found

    return kids(root, 1)


def _hook_form(plan_hooks: dict[str, Any], key: str) -> tuple[str, str]:
    """The topic of a signal key (``topic:value``) and a payload that matches it."""
    topic, _, value = key.partition(":")
    for candidate in sorted(plan_hooks, key=len, reverse=True):
        if key.startswith(candidate + ":"):
            topic, value = candidate, key[len(candidate) + 1 :]
            break
    field = "id"
    rules = plan_hooks.get(topic) or []
    if rules:
        actual = rules[0].get("conditions", {}).get("match", [{}])[0].get("actual")
        if isinstance(actual, str) and actual.startswith("{") and ".data." in actual:
            field = actual[1:-1].split(".data.", 1)[1]
    payload: dict[str, Any] = {}
    level = payload
    parts = field.split(".")
    for part in parts[:-1]:
        level = level.setdefault(part, {})
    level[parts[-1]] = value
    return topic, json.dumps(payload, ensure_ascii=False)


async def job(console: Console, request: Request) -> Response:
    job_id = request.path_params["job_id"]
    params = _params(request)
    reads = await console.reads()
    found = await reads.job(job_id, params.get("app") or None)
    if not found:
        raise errors.JobNotFoundError(job_id)
    row = await _decoded(console, found[0])
    app_id = str(row["app_id"])
    activities = [
        await _decoded(console, a) for a in await reads.activities(int(row["id"]))
    ]
    plan_hooks: dict[str, Any] = {}
    for version in await reads.versions(app_id):
        if version["version"] == row["version"]:
            plan_hooks = version["plan"].get("hooks", {})
    hooks = [
        {
            "key": h["key"],
            "since": h["created_at"],
            "form": _hook_form(plan_hooks, str(h["key"])),
        }
        for h in await reads.open_hooks(int(row["id"]))
    ]
    trigger = next((a for a in activities if a["type"] == "trigger"), None)
    reruns = await reads.reruns(app_id, job_id)
    return console.render(
        request,
        "job.html",
        job=row,
        state=job_state(row),
        others=[r["app_id"] for r in found[1:]],
        activities=activities,
        timeline=svg.gantt(activities, _now()),
        children=_tree(job_id, await reads.child_tree(app_id, job_id)),
        hooks=hooks,
        escalations=await reads.job_escalations(app_id, job_id),
        job_input=None if trigger is None else trigger["input"],
        rerun_of=next((r["job_id"] for r in reruns if r["way"] == "of"), None),
        rerun_by=[r for r in reruns if r["way"] == "by"],
        why=_why(activities),
    )


#: the fields of a job or activity row that carry MemFlow payloads
_PAYLOADS = ("data", "input", "output", "hook")


async def _decoded(console: Console, row: Any) -> Any:
    """``row`` with its payloads opened by the console's codec (as stored
    without one, or when a payload is not the codec's)."""
    if console.codec is None:
        return row
    out = dict(row)
    for name in _PAYLOADS:
        if out.get(name) is not None:
            try:
                out[name] = await payload_codec.unseal_tree(console.codec, out[name])
            except errors.PayloadCodecError:
                pass  # another key, or not a codec's: shown as stored
    return out


def _why(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Why this branch: per activity run with transitions, each transition,
    whether it fired and what its conditions compared (as text)."""
    out = []
    for a in activities:
        record = a.get("why")
        if not isinstance(record, dict):
            continue
        code = record.get("code")
        out.append(
            {
                "activity_id": a["activity_id"],
                "dimension": a["dimension"],
                "code": code,
                "transitions": [
                    {
                        "to": t.get("to"),
                        "fired": bool(t.get("fired")),
                        "detail": detail(t, code),
                    }
                    for t in record.get("transitions") or []
                ],
            }
        )
    return out


async def workflows(console: Console, request: Request) -> Response:
    params = _params(request)
    name, queue, state, page = filters.workflow_filter(params)
    reads = await console.reads()
    rows = await reads.workflows(name, queue, state, page.after, page.limit + 1)
    return console.render(
        request,
        "workflows.html",
        rows=rows[: page.limit],
        params=params,
        states=filters.STATES,
        next_link=_next_link(request, rows, page.limit),
        first_page=page.after is None,
    )


def _events(data: dict[str, Any]) -> list[dict[str, Any]]:
    """MemFlow's markers in job data (``-<type>-<index>-``), in replay order."""
    found = []
    for key, value in data.items():
        if not key.startswith("-"):
            continue
        parts = [p for p in key.split("-") if p]
        index = next((int(p) for p in reversed(parts) if p.isdigit()), 0)
        kind = parts[0] if parts else key
        found.append({"key": key, "kind": kind, "index": index, "value": value})
    return sorted(found, key=lambda e: (e["index"], e["key"]))


async def workflow(console: Console, request: Request) -> Response:
    workflow_id = request.path_params["workflow_id"]
    params = _params(request)
    reads = await console.reads()
    found = [
        r
        for r in await reads.job(workflow_id, params.get("app") or None)
        if "workflowName" in r["data"]
    ]
    if not found:
        raise errors.JobNotFoundError(workflow_id)
    row = await _decoded(console, found[0])
    data = row["data"]
    activities = [
        await _decoded(console, a) for a in await reads.activities(int(row["id"]))
    ]
    return console.render(
        request,
        "workflow.html",
        job=row,
        state=job_state(row),
        events=_events(data),
        search={k[1:]: v for k, v in data.items() if k.startswith("_")},
        activities=activities,
        timeline=svg.gantt(activities, _now()),
        children=_tree(
            workflow_id, await reads.child_tree(str(row["app_id"]), workflow_id)
        ),
        hooks=await reads.open_hooks(int(row["id"])),
    )


async def escalations(console: Console, request: Request) -> Response:
    params = _params(request)
    status = filters.escalation_filter(params)
    reads = await console.reads()
    return console.render(
        request,
        "escalations.html",
        rows=await reads.escalations(status, ESCALATIONS_SHOWN),
        status=status or "all",
        states=filters.ESCALATION_STATES,
    )


async def login(console: Console, request: Request) -> Response:
    """The login form (GET) and its answer (POST): a cookie holding a MAC of the token."""
    from hotmesh.dashboard.actions import form

    base = request.scope.get("root_path", "")
    if request.method == "GET":
        target = _params(request).get("next", f"{base}/")
        return console.render(request, "login.html", message="", next=target)
    values = await form(request)
    target = values.get("next") or f"{base}/"
    if not target.startswith("/") or target.startswith("//"):
        target = f"{base}/"
    token = console.guard.token
    if token is None:
        return RedirectResponse(target, status_code=303)
    if not same(values.get("token", ""), token):
        return console.render(
            request, "login.html", 403, message="wrong token", next=target
        )
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        AUTH_COOKIE, session_value(token), httponly=True, samesite="strict", path="/"
    )
    return answer
