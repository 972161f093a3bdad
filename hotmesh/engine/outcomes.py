"""What a step writes when an activity or a job ends (pure): error shapes,
signal activities' payloads, an awaiting parent's result, a detached child's join.
"""

from __future__ import annotations

import copy
from typing import Any

from hotmesh.engine import context as cx
from hotmesh.engine.commit import SignalOut, err_string
from hotmesh.engine.metadata import ParentRef
from hotmesh.expr.js import is_number
from hotmesh.store.records import JobRow

#: seconds a detached child's join signal waits for its parent to ask (a year:
#: the parent may call ``result()`` at any later point of its own life)
JOIN_KEEP = 365 * 86400.0


def falsy_flag(value: Any) -> bool:
    """``false`` as YAML or as the string an expression resolved to."""
    return value is False or value == "false"


def activity_error(data: Any, code: int, meta: dict[str, Any]) -> dict[str, Any]:
    """The error an activity ended with; its stored forms are written into ``meta``."""
    body = data if isinstance(data, dict) else {"message": str(data)}
    error = {"message": body.get("message", "error"), "code": code}
    for key in ("type", "stack"):
        if key in body:
            error[key] = body[key]
    if "job_id" in body:
        error["job_id"] = body["job_id"]
    meta["err"] = err_string(dict(body))
    meta["$error"] = {**error, "is_stream_error": True}
    return error


def signal_out(
    topic: str,
    data: Any,
    status: Any,
    code: Any,
    key: str | None = None,
    scrub: bool = False,
) -> SignalOut:
    """A signal activity's payload, with defaults for what did not resolve."""
    return SignalOut(
        topic,
        data if isinstance(data, dict) else {},
        status if isinstance(status, str) else "success",
        int(code) if is_number(code) else 200,
        key,
        scrub,
    )


def interrupt_error(job_id: str, options: dict[str, Any]) -> dict[str, Any] | None:
    """The error an interrupted job ends with (410 by default); none if ``throw`` is false."""
    if falsy_flag(options.get("throw", True)):
        return None
    code = options.get("code", 410)
    reason = options.get("reason")
    return {
        "code": int(code) if is_number(code) else 410,
        "message": reason
        if isinstance(reason, str) and reason
        else f"job [{job_id}] interrupted",
        "stack": str(options.get("stack") or ""),
        "job_id": job_id,
    }


def join_signal(
    job: JobRow, final: JobRow, error: dict[str, Any] | None
) -> SignalOut | None:
    """A detached child with a join key signals its outcome to that key."""
    md = job.metadata
    if not md.get("jt") or not md.get("jk"):
        return None
    outcome: dict[str, Any] = {
        "job_id": job.job_id,
        "status": final.status,
        "data": cx.public_data(job.data),
    }
    if error is not None:
        outcome["err"] = copy.deepcopy(error)
    return SignalOut(str(md["jt"]), {"id": md["jk"], "data": outcome}, keep=JOIN_KEEP)


def parent_result(
    job: JobRow, code: int, error: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The ``result`` message to an awaiting parent (none when detached or parentless)."""
    md = job.metadata
    if not md.get("pj") or md.get("px"):
        return None
    payload: dict[str, Any] = {
        "metadata": {
            **ParentRef.from_metadata(md).address.to_metadata(),
            "child": job.job_id,
        },
        "status": "pending" if code == 202 else "success",
        "code": code,
        "data": cx.public_data(job.data),
    }
    if code != 202 and error is not None:
        error = copy.deepcopy(error)
        payload.update(status="error", code=error.get("code", 500), data=error)
    return payload
