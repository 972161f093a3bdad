"""MemFlow's spans (issue 18): named after the workflow's calls, not the
built-in graph's activities.

A workflow is one trace: the ``workflow <name>`` span (the job span of
``client.workflow.start``, or of a child workflow's job, under its parent's
workflow span), and under it one span per durable call:
``activity <name>`` (request to recorded result, retries included), ``sleep``,
``wait`` (the signal wait, linked to the sender's span), ``child <name>``, and
``signal``/``emit``/``interrupt``/``hook`` for side effects. The graph's
bookkeeping (the pivot, cycles, the activation that replays the function) has
no span, so a replay adds none; the activation's worker callbacks have none
either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh import telemetry
from hotmesh.store.records import ActivityRow

_CALLS = {"proxyer", "hproxyer", "cproxy"}
_SLEEPS = {"sleeper", "hsleeper", "csleep"}
_CHILDREN = {"childer", "hchilder", "cchild"}
#: the wait job's hook: the wait itself, where a signal arrives
_WAITS = {"whook"}


def _name(row: ActivityRow) -> tuple[str, dict[str, Any]] | None:
    aid = row.activity_id
    given = row.input if isinstance(row.input, Mapping) else {}
    if aid in _CALLS:
        payload = given.get("payload")
        payload = payload if isinstance(payload, Mapping) else {}
        name = str(payload.get("name") or "?")
        marker = str(payload.get("marker") or "")
        attrs = {"memflow.activity": name, "memflow.marker": marker}
        if marker.startswith("-proxy"):
            return f"activity {name}", attrs
        return name, attrs  # a side effect: signal, emit, interrupt, hook
    if aid in _SLEEPS:
        return "sleep", {}
    if aid in _CHILDREN:
        name = str(given.get("workflowName") or "?")
        return f"child {name}", {
            "memflow.child.workflow_id": str(given.get("workflowId"))
        }
    if aid in _WAITS:
        out = row.output if isinstance(row.output, Mapping) else {}
        md = out.get("metadata")
        key = str(md.get("sk") or "") if isinstance(md, Mapping) else ""
        return "wait", {"memflow.signal.key": key.partition(":")[2]}
    return None


def _workflow(topic: str, data: Mapping[str, Any]) -> str | None:
    if topic.endswith(".execute") and data.get("workflowName"):
        return f"workflow {data['workflowName']}"
    return ""  # a signal wait's or a collator's job: its spans are its workflow's


def install(namespace: str) -> None:
    """Name the spans of MemFlow app ``namespace`` (idempotent)."""
    telemetry.name_spans(namespace, _name, _workflow)


def quiet(task_queue: str) -> None:
    """No worker span for the activations of ``task_queue`` (replays)."""
    telemetry.quiet(task_queue)
