"""How a workflow ended, as the exception its ``result()`` raises."""

from __future__ import annotations

import json
from typing import Any

from hotmesh import errors
from hotmesh.memflow import timeouts as _timeouts


def remote_error(workflow_id: str, output: dict[str, Any]) -> errors.WorkflowError:
    """The error a failed workflow's ``result()`` raises, from its job output:
    one type per outcome (failed, cancelled, terminated, timed out)."""
    raw = output["metadata"].get("err")
    try:
        err = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    except ValueError:
        err = {"message": str(raw)}
    detail = (output.get("data") or {}).get("error") or {}
    code = err.get("code")
    kind = str(
        detail.get("type")
        or {410: "Interrupted", _timeouts.TIMED_OUT: "TimedOut"}.get(
            code if isinstance(code, int) else 0, "Error"
        )
    )
    message = str(detail.get("message") or err.get("message") or "")
    if kind == "NondeterminismError":
        return errors.NondeterminismError(message)
    failed: errors.WorkflowFailedError
    if kind == "CancelledError":
        failed = errors.WorkflowCancelledError(workflow_id, kind, message)
    elif kind == "Interrupted":
        failed = errors.WorkflowTerminatedError(workflow_id, kind, message)
    elif kind == "TimedOut":
        failed = errors.WorkflowTimedOutError(workflow_id, kind, message)
    else:
        failed = errors.WorkflowFailedError(workflow_id, kind, message)
    failed.code = code  # type: ignore[attr-defined]
    return failed
