"""The console's actions (POST only, CSRF-checked): each goes through the public
HotMesh or MemFlow API, never a write of its own. The guard has already refused
them in read-only mode."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from hotmesh import errors
from hotmesh.dashboard.app import Console

MAX_FORM = 1 << 20


async def form(request: Request) -> dict[str, str]:
    """The URL-encoded form of a POST (the console's forms and fetches send that)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise errors.ConfigError(
            f"send the form as application/x-www-form-urlencoded, not {kind or 'nothing'}"
        )
    body = await request.body()
    if len(body) > MAX_FORM:
        raise errors.ConfigError(f"the form is larger than {MAX_FORM} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.ConfigError("the form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


async def _checked(console: Console, request: Request) -> dict[str, str]:
    """The form, once its CSRF token matches (a bearer-token script needs none:
    a browser cannot forge that header for another site)."""
    values = await form(request)
    if console.guard.bearer(request) is not True and not console.guard.csrf_ok(
        request, values.get("csrf") or request.headers.get("x-csrf-token")
    ):
        raise errors.ActionRefusedError(
            "the form's CSRF token is missing or stale: reload the page"
        )
    return values


def _payload(values: dict[str, str], name: str) -> Any:
    raw = values.get(name, "").strip()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.ConfigError(f"field '{name}' is not valid JSON: {exc}") from None


def _object(values: dict[str, str], name: str) -> dict[str, Any]:
    found = _payload(values, name)
    if not isinstance(found, dict):
        raise errors.ConfigError(
            f"field '{name}' must be a JSON object, not {type(found).__name__}"
        )
    return found


def _done(request: Request, message: str, location: str) -> Response:
    """JSON for the console's own script, else a redirect (forms without script)."""
    if request.headers.get("x-requested-with") == "hotmesh":
        return JSONResponse({"ok": True, "message": message, "location": location})
    return RedirectResponse(location, status_code=303)


async def _job_row(console: Console, job_id: str, app_id: str | None) -> dict[str, Any]:
    found = await (await console.reads()).job(job_id, app_id or None)
    if not found:
        raise errors.JobNotFoundError(job_id)
    return found[0]


async def job_action(console: Console, request: Request) -> Response:
    """signal, interrupt, scrub, rerun: ``/jobs/{job_id}/{verb}``."""
    values = await _checked(console, request)
    job_id, verb = request.path_params["job_id"], request.path_params["verb"]
    row = await _job_row(console, job_id, values.get("app"))
    app_id = str(row["app_id"])
    hm = await console.mesh(app_id)
    base = request.scope.get("root_path", "")
    here = f"{base}/jobs/{quote(job_id, safe='')}?app={quote(app_id)}"
    if verb == "signal":
        topic = values.get("topic", "")
        resumed = await hm.signal(topic, _object(values, "data"))
        said = (
            f"resumed job {resumed}"
            if resumed
            else "signal kept until the hook registers"
        )
        return _done(request, said, here)
    if verb == "interrupt":
        descend = values.get("descend") in ("1", "on", "true")
        reason = values.get("reason") or "interrupted from the console"
        await hm.interrupt(str(row["topic"]), job_id, reason=reason, descend=descend)
        return _done(
            request, "interrupted" + (" with its descendants" if descend else ""), here
        )
    if verb == "scrub":
        await hm.scrub(job_id)
        return _done(request, f"job {job_id} scrubbed", f"{base}/jobs")
    if verb == "rerun":
        new_id = await hm.rerun(job_id)  # linked to this job in the store
        where = f"{base}/jobs/{quote(new_id, safe='')}?app={quote(app_id)}"
        return _done(request, f"started job {new_id}", where)
    raise errors.NotFoundError(f"no action {verb!r} (signal, interrupt, scrub, rerun)")


async def workflow_action(console: Console, request: Request) -> Response:
    """signal, interrupt: ``/workflows/{workflow_id}/{verb}`` through MemFlow."""
    values = await _checked(console, request)
    workflow_id, verb = request.path_params["workflow_id"], request.path_params["verb"]
    row = await _job_row(console, workflow_id, values.get("app"))
    data = row["data"]
    if "workflowName" not in data:
        raise errors.JobNotFoundError(workflow_id)
    client = await console.memflow(str(row["app_id"]))
    handle = client.workflow.get_handle(
        str(data.get("taskQueue")), str(data["workflowName"]), workflow_id
    )
    base = request.scope.get("root_path", "")
    here = f"{base}/workflows/{quote(workflow_id, safe='')}?app={quote(str(row['app_id']))}"
    if verb == "signal":
        signal_id = values.get("signal_id", "")
        if not signal_id:
            raise errors.ConfigError(
                "field 'signal_id' is empty: name the signal to send"
            )
        await handle.signal(signal_id, _payload(values, "data"))
        return _done(request, f"signal {signal_id} sent", here)
    if verb == "interrupt":
        await handle.interrupt(values.get("reason") or "interrupted from the console")
        return _done(request, "interrupted", here)
    raise errors.NotFoundError(f"no action {verb!r} (signal, interrupt)")


async def escalation_action(console: Console, request: Request) -> Response:
    """claim, release, resolve: ``/escalations/{id}/{verb}`` through ``hm.escalations``."""
    values = await _checked(console, request)
    escalation_id, verb = (
        request.path_params["escalation_id"],
        request.path_params["verb"],
    )
    app_id = values.get("app", "")
    hm = await console.mesh(app_id)
    row = await hm.escalations.get(escalation_id)
    if row is None:
        raise errors.NotFoundError(f"no escalation {escalation_id!r}")
    here = f"{request.scope.get('root_path', '')}/escalations"
    if verb == "claim":
        who = values.get("assignee", "").strip()
        if not who:
            raise errors.ConfigError("field 'assignee' is empty: say who claims it")
        ok = await hm.escalations.claim(escalation_id, who)
        if not ok:
            raise errors.StoreConflictError("someone else holds this escalation")
        return _done(request, f"claimed by {who}", here)
    if verb == "release":
        await hm.escalations.release(escalation_id)
        return _done(request, "released", here)
    if verb == "resolve":
        resumed = await hm.escalations.resolve(
            escalation_id, _object(values, "payload")
        )
        if resumed is None:
            raise errors.StoreConflictError("the escalation is no longer pending")
        return _done(request, f"resolved; job {resumed} resumed", here)
    raise errors.NotFoundError(f"no action {verb!r} (claim, release, resolve)")
