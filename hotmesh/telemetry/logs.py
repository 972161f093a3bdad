"""hotmesh's loggers (issue 18): standard ``logging`` loggers under
``hotmesh.…``, whose records carry structured context.

Every record a hotmesh logger makes has these attributes (``""`` when not
known), usable in a format string (``%(hotmesh_job_id)s``) or a JSON
formatter:

* ``hotmesh_app``, ``hotmesh_job_id``, ``hotmesh_activity``, ``hotmesh_topic``:
  the job, activity and worker topic being handled when the record was made;
* ``otelTraceID``, ``otelSpanID``: the active span's ids (as OpenTelemetry's
  logging instrumentation names them), or else the handled job's trace.

The context is a ``contextvars`` value, set while an engine message or a
worker callback is handled (:func:`context`), so it follows the asyncio task.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from hotmesh.telemetry._base import trace

#: the attributes every hotmesh record carries, with their defaults
FIELDS: dict[str, str] = {
    "hotmesh_app": "",
    "hotmesh_job_id": "",
    "hotmesh_activity": "",
    "hotmesh_topic": "",
    "otelTraceID": "",
    "otelSpanID": "",
}

#: (app, job id, activity, topic, metadata) of what is handled now
_Handled = tuple[str, Any, Any, str, "Mapping[str, Any] | None"]
_CONTEXT: contextvars.ContextVar[_Handled | None] = contextvars.ContextVar(
    "hotmesh_log_context", default=None
)


class context:  # lower case: used like a function, ``with logs.context(...)``
    """Records made inside the block carry this context (``metadata``: a
    message's, for its job's trace ids). Kept as given: the record's
    attributes are made only when a record is (the hot path pays a
    ``ContextVar.set``)."""

    __slots__ = ("_handled", "_token")

    def __init__(
        self,
        app: str = "",
        job_id: Any = None,
        activity: Any = None,
        topic: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._handled: _Handled = (app, job_id, activity, topic, metadata)

    def __enter__(self) -> None:
        self._token = _CONTEXT.set(self._handled)

    def __exit__(self, *exc: object) -> None:
        _CONTEXT.reset(self._token)


def current() -> dict[str, str]:
    """The context a record made now carries."""
    out = dict(FIELDS)
    handled = _CONTEXT.get()
    if handled is not None:
        app, job_id, activity, topic, metadata = handled
        out["hotmesh_app"] = app
        out["hotmesh_job_id"] = "" if job_id is None else str(job_id)
        out["hotmesh_activity"] = "" if activity is None else str(activity)
        out["hotmesh_topic"] = topic
        if metadata is not None and isinstance(metadata.get("trc"), str):
            out["otelTraceID"] = str(metadata["trc"])
            out["otelSpanID"] = str(metadata.get("spn") or "")
    if trace is not None:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["otelTraceID"] = trace.format_trace_id(ctx.trace_id)
            out["otelSpanID"] = trace.format_span_id(ctx.span_id)
    return out


class ContextAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A hotmesh logger: adds :func:`current` to each record's ``extra``
    (a caller's own ``extra`` wins). Only enabled levels pay for it."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**current(), **(kwargs.get("extra") or {})}
        return msg, kwargs


def get(name: str) -> ContextAdapter:
    """The logger ``name`` (under ``hotmesh``), adding the context to records."""
    if name != "hotmesh" and not name.startswith("hotmesh."):
        raise ValueError(f"hotmesh loggers live under 'hotmesh', not {name!r}")
    return ContextAdapter(logging.getLogger(name), {})
