"""Plan <-> versioned JSON document (source values only; expressions recompiled on load)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh.compiler.build import compile_document
from hotmesh.compiler.plan import PLAN_FORMAT, ActivityPlan, Plan, Transition
from hotmesh.compiler.report import Reporter
from hotmesh.errors import CompileError
from hotmesh.frozen import thaw


def _edge(transition: Transition) -> dict[str, Any]:
    if transition.unconditional:
        return {"to": transition.to}
    code: Any = (
        list(transition.code) if len(transition.code) > 1 else transition.code[0]
    )
    conditions: dict[str, Any] = {"code": code, "gate": transition.gate}
    if transition.match:
        conditions["match"] = [
            {"expected": thaw(m.expected), "actual": thaw(m.actual.source)}
            for m in transition.match
        ]
    return {"to": transition.to, "conditions": conditions}


def _activity(act: ActivityPlan) -> dict[str, Any]:
    return {
        "type": act.type,
        "title": act.title,
        "graph": act.graph,
        "parent": act.parent,
        "ancestors": list(act.ancestors),
        "depth": act.depth,
        "transitions": [_edge(t) for t in act.transitions],
        "topic": thaw(act.topic.source) if act.topic is not None else None,
        "subtype": act.subtype,
        "retry": dict(act.retry),
        "cycle_pivot": act.cycle_pivot,
        "cycle_ancestor": act.cycle_ancestor,
        "hook_topic": act.hook_topic,
        "consumes": thaw(act.consumes),
        "produces": list(act.produces),
        "config": thaw(act.config),
    }


def plan_to_document(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON values, versioned by ``format``.

    Derived fields (parents, ancestors, consumes, ...) are written for readers;
    ``plan_from_document`` rebuilds everything from the app, graph, activity
    ``config``, ``transitions`` and ``hooks`` sources.
    """
    return {
        "format": PLAN_FORMAT,
        "app": {
            "id": plan.app_id,
            "version": plan.version,
            "settings": thaw(plan.settings),
        },
        "graphs": [
            {
                "subscribes": g.subscribes,
                "publishes": g.publishes,
                "trigger": g.trigger,
                "expire": thaw(g.expire.source) if g.expire is not None else None,
                "persistent": thaw(g.persistent.source)
                if g.persistent is not None
                else None,
                "input_schema": thaw(g.input_schema),
                "output_schema": thaw(g.output_schema),
                "activities": list(g.activity_ids),
                "produces": list(g.produces),
            }
            for g in plan.graphs
        ],
        "activities": {aid: _activity(act) for aid, act in plan.activities.items()},
        "hooks": {
            topic: [
                {
                    "to": rule.to,
                    "conditions": {
                        "match": [
                            {
                                "expected": thaw(rule.expected.source),
                                "actual": thaw(rule.actual.source),
                            }
                        ]
                    },
                }
                for rule in rules
            ]
            for topic, rules in plan.hooks.items()
        },
    }


def _manifest(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild the manifest document a plan document was compiled from."""
    activities = doc["activities"]
    graphs: list[dict[str, Any]] = []
    owner: dict[str, dict[str, Any]] = {}
    for g in doc["graphs"]:
        graph: dict[str, Any] = {"subscribes": g["subscribes"]}
        for key in ("publishes", "expire", "persistent"):
            if g.get(key) is not None:
                graph[key] = g[key]
        for key in ("input", "output"):
            if g.get(f"{key}_schema") is not None:
                graph[key] = {"schema": g[f"{key}_schema"]}
        graph["activities"] = {
            aid: activities[aid]["config"] for aid in g["activities"]
        }
        transitions = {
            aid: activities[aid]["transitions"]
            for aid in g["activities"]
            if activities[aid]["transitions"]
        }
        if transitions:
            graph["transitions"] = transitions
        graphs.append(graph)
        owner.update((aid, graph) for aid in g["activities"])
    for topic, rules in doc.get("hooks", {}).items():
        for rule in rules:
            hooks = owner[rule["to"]].setdefault("hooks", {})
            hooks.setdefault(topic, []).append(rule)
    app = doc["app"]
    return {
        "app": {
            "id": app["id"],
            "version": app["version"],
            "settings": app.get("settings") or {},
            "graphs": graphs,
        }
    }


def plan_from_document(doc: Mapping[str, Any]) -> Plan:
    """Rebuild a Plan from ``plan_to_document`` output; ``CompileError`` if unreadable."""
    fmt = doc.get("format") if isinstance(doc, Mapping) else None
    if fmt != PLAN_FORMAT:
        raise CompileError(
            f"unsupported plan document format {fmt!r} (this hotmesh reads format {PLAN_FORMAT})"
        )
    try:
        manifest = _manifest(doc)
    except (KeyError, TypeError) as exc:
        raise CompileError(f"malformed plan document: missing or bad {exc}") from exc
    report = Reporter("<plan document>")
    plan = compile_document(manifest, report)
    if plan is None:
        details = "; ".join(f"{p.message} (at {p.pointer})" for p in report.errors)
        raise CompileError(f"plan document does not compile: {details}")
    return plan
