"""What a traced step tells its activity spans (issue 18), decided in the pure
step: a ``telemetry`` map's evaluated attributes, and span events (retries,
timeouts, interrupts, escalations). The shell turns them into spans after the
commit (:func:`hotmesh.telemetry.activities`).

Only a traced job (one carrying ``trc``) pays for any of it, so an untraced
job, or any job while tracing is off, evaluates nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hotmesh import telemetry
from hotmesh.expr import ast
from hotmesh.expr.js import UNDEFINED
from hotmesh.expr.rules import MapRule, Rule
from hotmesh.telemetry import logs

if TYPE_CHECKING:
    from hotmesh.compiler.plan import ActivityPlan
    from hotmesh.engine.commit import StepDraft

log = logs.get("hotmesh.engine.telemetry")

MAX_VALUE = telemetry.MAX_VALUE


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A span event for activity ``aid`` in dimension ``dad`` (epoch ns)."""

    aid: str
    dad: str
    name: str
    at: int
    attributes: dict[str, Any] = field(default_factory=dict)


def traced(metadata: Mapping[str, Any]) -> bool:
    """Whether the job carries a trace (its spans are recorded somewhere)."""
    return "trc" in metadata


def scalar(value: Any) -> Any:
    """A span attribute value (see :func:`hotmesh.telemetry.attribute`);
    ``None`` for a value left out."""
    if value is None or value is UNDEFINED:
        return None
    return telemetry.attribute(value)


#: per map rule: its keys' rules, compiled once (a failure is then told by key)
_SPLIT: dict[int, tuple[MapRule, list[tuple[str, Rule]]]] = {}


def _keys(rule: MapRule) -> list[tuple[str, Rule]]:
    held = _SPLIT.get(id(rule))
    if held is not None and held[0] is rule:
        return held[1]
    node = rule.node
    source = rule.source if isinstance(rule.source, dict) else {}
    if isinstance(node, ast.ObjectNode):
        keys = [(k, Rule(source.get(k), n)) for k, n in node.items]
    else:  # a whole-map @pipe: one rule for all, told as '*'
        keys = [("*", rule)]
    if len(_SPLIT) > 4096:  # plans come and go with versions; keep this bounded
        _SPLIT.clear()
    _SPLIT[id(rule)] = (rule, keys)
    return keys


def attributes(
    rule: MapRule, ctx: Mapping[str, Any], where: str, job_id: str
) -> dict[str, Any]:
    """The ``telemetry`` map of activity ``where``, evaluated as span attributes.

    A key that fails to evaluate is left out and told in one log line per
    activity run; the job goes on.
    """
    out: dict[str, Any] = {}
    failed: list[str] = []
    for key, part in _keys(rule):
        try:
            value = part.evaluate(ctx)
        except Exception as exc:  # any failure: never the job's concern
            failed.append(f"{key}: {type(exc).__name__}: {exc}"[:300])
            continue
        if key == "*":
            items = value.items() if isinstance(value, dict) else ()
            for name, item in items:
                if (kept := scalar(item)) is not None:
                    out[str(name)] = kept
        elif (kept := scalar(value)) is not None:
            out[key] = kept
    if failed:
        log.warning(
            "activity %s of job %s: telemetry left out (%s)",
            where,
            job_id,
            "; ".join(failed),
            extra={"hotmesh_job_id": job_id, "hotmesh_activity": where},
        )
    return out


def event(
    commit: StepDraft,
    aid: str,
    dad: str,
    name: str,
    at: datetime | int | None,
    attrs: dict[str, Any],
) -> None:
    """Note span event ``name`` of activity ``aid`` at ``at`` (a time or epoch ns)."""
    when = int(at.timestamp() * 1e9) if isinstance(at, datetime) else at
    commit.span_events.append(SpanEvent(aid, dad, name, when or 0, attrs))


def done(
    commit: StepDraft,
    act: ActivityPlan,
    dad: str,
    ctx: Mapping[str, Any],
    old: Mapping[str, Any],
) -> None:
    """A traced job's activity is done: its ``telemetry`` map, evaluated, and
    the escalation it opened when it began waiting (``old``: its Leg 1 metadata)."""
    if act.telemetry is not None:
        commit.span_attributes[(act.id, dad)] = attributes(
            act.telemetry, ctx, act.id, commit.job.job_id
        )
    if act.escalation is not None and old.get("sk"):
        at = telemetry.stamp_ns(old.get("ac"))
        event(
            commit,
            act.id,
            dad,
            "hotmesh.escalation",
            at,
            {"hotmesh.signal.key": str(old["sk"])},
        )


def interrupt(target: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes of an interrupt activity's event."""
    return {
        "hotmesh.interrupt.target": target if isinstance(target, str) else "",
        "hotmesh.interrupt.reason": str(options.get("reason") or ""),
    }
