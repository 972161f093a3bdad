"""Completing an activity from outside: its task token, and the answer
``complete_activity`` / ``fail_activity`` give for it.

An activity that calls ``activity.raise_complete_async()`` ends its attempt
without an answer: the engine marks the activity waiting for one. The task
token (``activity.info().task_token``) names that activity (its job, activity
and dimension, and the workflow's marker); any process holding it answers
through the engine, which records the answer as if the attempt had returned.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from hotmesh import errors
from hotmesh.engine.payload import json_problem
from hotmesh.mesh import HotMesh
from hotmesh.store.heartbeats import HeartbeatRows

#: the token's version: a token of another shape is refused, not misread
_VERSION = 1


def stored(value: Any) -> Any:
    """``value`` if it is JSON the job can store, else ``TypeError`` (a failure
    the workflow sees, not a worker response the engine refuses)."""
    problem = json_problem(value)  # non-JSON types, NUL, lone surrogates, nesting
    if problem is not None:
        raise TypeError(f"value at {problem[0] or '/'} cannot be stored: {problem[1]}")
    return value


def token(
    namespace: str, md: Mapping[str, Any], payload: Mapping[str, Any], attempt: int
) -> bytes:
    """The task token of the attempt of work message ``md`` / ``payload``."""
    fields = {
        "v": _VERSION,
        "ns": namespace,
        "jid": md.get("jid"),
        "gid": md.get("gid"),
        "aid": md.get("aid"),
        "dad": md.get("dad"),
        "wid": payload.get("workflowId"),
        "mk": payload.get("marker"),
        "n": payload.get("name"),
        "a": attempt,
    }
    text = json.dumps(fields, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode())


def _decode(task_token: Any) -> dict[str, Any]:
    if isinstance(task_token, str):
        task_token = task_token.encode()
    if not isinstance(task_token, bytes | bytearray):
        raise errors.ActivityTokenError(
            f"a task token is the bytes of activity.info().task_token, "
            f"not {type(task_token).__name__}"
        )
    try:
        fields = json.loads(base64.urlsafe_b64decode(bytes(task_token)))
    except (binascii.Error, ValueError):
        fields = None
    if not isinstance(fields, dict) or fields.get("v") != _VERSION:
        raise errors.ActivityTokenError(
            "not a MemFlow task token (activity.info().task_token)"
        )
    return fields


def failure_of(error: Any) -> dict[str, Any]:
    """The recorded failure of ``fail_activity(token, error)``: an exception
    (its type and message) or a message."""
    if isinstance(error, BaseException):
        return {"type": type(error).__name__, "message": str(error)}
    return {"type": "Error", "message": str(error)}


async def _waiting(mesh: HotMesh, namespace: str, task_token: Any) -> dict[str, Any]:
    """The token's fields; ``ActivityTokenError`` when it is not a token of
    this namespace, or its activity is not waiting for an answer."""
    fields = _decode(task_token)
    if fields.get("ns") != namespace:
        raise errors.ActivityTokenError(
            f"the task token belongs to namespace '{fields.get('ns')}', "
            f"not to this client's '{namespace}'"
        )
    job = await mesh.engine.read(str(fields.get("jid")), with_activities=True)
    row = None
    if job is not None and job.gid == fields.get("gid"):
        row = next(
            (
                a
                for a in job.activities
                if a.activity_id == fields.get("aid")
                and a.dimension == fields.get("dad")
            ),
            None,
        )
    if row is None or row.done:
        raise errors.ActivityTokenError(
            f"activity '{fields.get('n')}' of workflow '{fields.get('wid')}' is not "
            "waiting for an answer: it was already completed or failed, or its "
            "workflow ended"
        )
    return fields


async def answer(
    mesh: HotMesh, namespace: str, task_token: Any, record: dict[str, Any]
) -> None:
    """Record ``record`` (``{data}`` or ``{error}``) as the answer of the
    activity ``task_token`` names; ``ActivityTokenError`` when it is not
    waiting for one."""
    fields = await _waiting(mesh, namespace, task_token)
    name = str(fields.get("n"))
    if "data" in record:
        record = {"data": stored(record["data"]), "name": name}
    else:
        record = {**record, "name": name, "attempts": fields.get("a")}
    await mesh.engine.add(
        {
            "metadata": {k: fields.get(k) for k in ("jid", "gid", "aid", "dad")},
            "data": {"markers": {str(fields.get("mk")): record}},
        }
    )


async def beat(
    mesh: HotMesh, namespace: str, task_token: Any, details: list[Any]
) -> None:
    """A heartbeat of the activity ``task_token`` names, from outside: its
    details are written for a later attempt as an attempt's are;
    ``ActivityCancelledError`` once its workflow is cancelled or has ended."""
    fields = await _waiting(mesh, namespace, task_token)
    problem = json_problem(details)
    if problem is not None:
        raise errors.ActivityTokenError(
            f"heartbeat details at {problem[0] or '/'} cannot be stored: {problem[1]}"
        )
    said = await HeartbeatRows(mesh.store).write(
        namespace,
        str(fields.get("wid")),
        str(fields.get("mk")),
        details,
        int(fields.get("a") or 1),
    )
    if said.cancel or not said.running:
        raise errors.ActivityCancelledError(
            f"activity '{fields.get('n')}': workflow '{fields.get('wid')}' was "
            "cancelled or has ended; fail or complete the activity"
        )
