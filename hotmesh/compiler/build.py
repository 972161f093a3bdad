"""Assemble the Plan from a manifest document."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from hotmesh.compiler.expressions import FIELDS, MAP_BLOCKS, ExpressionPass, dig
from hotmesh.compiler.limits import check_limits
from hotmesh.compiler.plan import (
    ActivityPlan,
    ActivityType,
    GraphPlan,
    HookRule,
    Match,
    Plan,
    Transition,
)
from hotmesh.compiler.ranges import check_ranges
from hotmesh.compiler.report import Reporter
from hotmesh.compiler.structure import (
    ActivityInfo,
    GraphInfo,
    HookInfo,
    analyze_structure,
    pointer,
)

if TYPE_CHECKING:
    from hotmesh.expr import Rule

#: Default most transitions out of one activity (``ManifestLimits.max_branches``).
MAX_BRANCHES = 1_000
_SLOTS = re.compile(r"^(.*)\[(\d+|-|_)\]$")


def compile_document(
    document: Mapping[str, Any], report: Reporter, max_branches: int = MAX_BRANCHES
) -> Plan | None:
    """Check and compile ``document``; ``None`` when ``report`` holds errors."""
    structure = analyze_structure(document, report)
    check_ranges(structure.graphs, structure.activities, report, max_branches)
    exprs = ExpressionPass(
        report, {aid: act.graph for aid, act in structure.activities.items()}
    )
    graph_rules: dict[int, dict[str, Rule | None]] = {}
    for info in structure.graphs:
        graph_rules[info.index] = {
            key: exprs.rule(info.pointer + pointer(key), info.config[key], None)
            for key in ("expire", "persistent")
            if info.config.get(key) is not None
        }
    parts = {
        aid: _activity_parts(
            act, structure.graphs[act.graph], graph_rules[act.graph], exprs
        )
        for aid, act in structure.activities.items()
    }
    hooks = _hook_rules(structure.hooks, exprs)
    check_limits(structure.activities, report)
    if report.errors:
        return None
    produces = exprs.produces()
    activities: dict[str, ActivityPlan] = {}
    for aid, kwargs in parts.items():
        consumes = exprs.consumes.get(aid, {})
        activities[aid] = ActivityPlan(
            **kwargs,
            consumes=MappingProxyType(
                {
                    owner: tuple(sorted(paths))
                    for owner, paths in sorted(consumes.items())
                }
            ),
            produces=tuple(sorted(produces.get(aid, ()))),
        )
    app = cast(Mapping[str, Any], document["app"])
    return Plan(
        app_id=str(app["id"]),
        version=str(app["version"]),
        graphs=tuple(
            _graph(info, graph_rules[info.index]) for info in structure.graphs
        ),
        activities=MappingProxyType(activities),
        hooks=MappingProxyType(hooks),
        settings=MappingProxyType(dict(app.get("settings") or {})),
    )


def _graph(info: GraphInfo, rules: Mapping[str, Rule | None]) -> GraphPlan:
    config = info.config
    publishes = config.get("publishes")
    paths: list[str] = []
    activities = config.get("activities") or {}
    for aid in info.ids:
        block = dig(activities[aid], ("job", "maps"))
        if isinstance(block, Mapping):
            paths.extend(p for p in _job_paths(block, ("data",)) if p not in paths)
    return GraphPlan(
        subscribes=info.subscribes,
        trigger=info.trigger or "",
        activity_ids=tuple(info.ids),
        publishes=str(publishes) if publishes is not None else None,
        expire=rules.get("expire"),
        persistent=rules.get("persistent"),
        produces=tuple(paths),
        input_schema=_schema(config, "input"),
        output_schema=_schema(config, "output"),
    )


def _schema(config: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    schema = dig(config, (key, "schema"))
    return MappingProxyType(dict(schema)) if isinstance(schema, Mapping) else None


def _job_paths(block: Mapping[str, Any], prefix: tuple[str, ...]) -> Iterator[str]:
    """Job data paths a ``job.maps`` block writes."""
    for key, value in block.items():
        slots = _SLOTS.match(str(key))
        if slots:
            name, count = slots.groups()
            if count.isdigit():
                yield from (
                    "/".join((*prefix, name, str(i))) for i in range(int(count))
                )
            continue
        if (
            isinstance(value, Mapping)
            and value
            and not ({"@pipe", "@reduce"} & set(value))
        ):
            yield from _job_paths(value, (*prefix, str(key)))
        else:
            yield "/".join((*prefix, str(key)))


def _activity_parts(
    act: ActivityInfo,
    graph: GraphInfo,
    graph_rules: Mapping[str, Rule | None],
    exprs: ExpressionPass,
) -> dict[str, Any]:
    """Everything of an ActivityPlan except consumes/produces (which need the app)."""
    config = act.config
    here = act.pointer
    fields: dict[str, Rule] = {}
    for name, path in FIELDS.items():
        value = dig(config, path)
        if value is not None:
            rule = exprs.rule(here + pointer(*path), value, act.id)
            if rule is not None:
                fields[name] = rule
    # The graph's expire/persistent are bound onto every activity;
    # only an interrupt keeps its own expire (the target job's retention).
    for key in ("expire", "persistent"):
        bound = graph_rules.get(key)
        if key == "expire" and act.type == "interrupt" and key in fields:
            continue
        fields.pop(key, None)
        if bound is not None:
            fields[key] = bound
    maps = {
        attr: exprs.map_rule(here + pointer(*path), block, act.id)
        for attr, path in MAP_BLOCKS.items()
        if (block := dig(config, path)) is not None
    }
    title = config.get("title")
    return {
        "id": act.id,
        "type": cast(ActivityType, act.type),
        "graph": graph.subscribes,
        "trigger": graph.trigger or "",
        "title": str(title) if title is not None else None,
        "parent": act.parent,
        "ancestors": act.ancestors,
        "depth": len(act.ancestors),
        "transitions": tuple(
            t for t in (_transition(act, p, e, exprs) for p, e in act.edges) if t
        ),
        "topic": _topic(act, exprs),
        "subtype": _subtype(act, exprs),
        **maps,
        "fields": MappingProxyType(fields),
        "retry": MappingProxyType(_retry(act, exprs)),
        "cycle_pivot": act.cycle_pivot,
        "cycle_ancestor": act.cycle_ancestor,
        "hook_topic": act.hook_topic,
        "config": MappingProxyType(dict(config)),
    }


def _topic(act: ActivityInfo, exprs: ExpressionPass) -> Rule | None:
    config = act.config
    if act.type in ("worker", "await"):
        key = "subtype" if config.get("subtype") is not None else "topic"
        if config.get(key) is None:
            exprs.report(act.pointer, f"{act.type} '{act.id}' needs a topic")
            return None
    elif act.type in ("signal", "interrupt"):
        key = "topic"
        if config.get(key) is None:
            return None
    else:
        return None
    return exprs.rule(act.pointer + pointer(key), config[key], act.id)


def _subtype(act: ActivityInfo, exprs: ExpressionPass) -> str | None:
    if act.type != "signal":
        return None
    subtype = act.config.get("subtype", "one")
    if subtype not in ("one", "all"):
        exprs.report(
            act.pointer + "/subtype",
            f"signal subtype must be 'one' or 'all', not {subtype!r}",
        )
        return None
    return str(subtype)


def _retry(act: ActivityInfo, exprs: ExpressionPass) -> dict[str, int]:
    policy = act.config.get("retry")
    if policy is None:
        return {}
    out: dict[str, int] = {}
    if not isinstance(policy, Mapping):
        exprs.report(
            act.pointer + "/retry", "retry must map an error code to [max retries]"
        )
        return out
    if act.type != "worker":
        exprs.report(
            act.pointer + "/retry",
            f"retry has no effect on type '{act.type}': only worker messages are"
            " retried (as upstream)",
            "warning",
        )
    for code, value in policy.items():
        count = value[0] if isinstance(value, list) and value else value
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            exprs.report(
                act.pointer + pointer("retry", code),
                f"retry for code {code} must be [n] with n a non-negative integer",
            )
            continue
        out[str(code)] = count
    return out


def _codes(value: Any) -> tuple[int, ...] | None:
    items = value if isinstance(value, list) else [value]
    try:
        codes = tuple(int(str(v)) for v in items if not isinstance(v, bool))
    except ValueError:
        return None
    return codes if len(codes) == len(items) and codes else None


def _transition(
    act: ActivityInfo, where: str, edge: Mapping[str, Any], exprs: ExpressionPass
) -> Transition | None:
    to = str(edge["to"])
    conditions = edge.get("conditions")
    if conditions is None:
        return Transition(to=to)
    if not isinstance(conditions, Mapping):
        exprs.report(where + "/conditions", "conditions must be an object")
        return None
    codes = _codes(conditions.get("code", 200))
    if codes is None:
        exprs.report(
            where + "/conditions/code", "code must be a status code or a list of them"
        )
        return None
    gate = conditions.get("gate", "and")
    if gate not in ("and", "or"):
        exprs.report(
            where + "/conditions/gate", f"gate must be 'and' or 'or', not {gate!r}"
        )
        return None
    matches: list[Match] = []
    for mi, item in enumerate(conditions.get("match") or []):
        at = where + pointer("conditions", "match", mi)
        if not isinstance(item, Mapping) or "actual" not in item:
            exprs.report(at, "a match needs 'expected' and 'actual'")
            continue
        actual = exprs.rule(at + "/actual", item["actual"], act.id)
        if actual is not None:
            matches.append(Match(expected=item.get("expected"), actual=actual))
    return Transition(
        to=to, code=codes, unconditional=False, gate=gate, match=tuple(matches)
    )


def _hook_rules(
    hooks: list[HookInfo], exprs: ExpressionPass
) -> dict[str, tuple[HookRule, ...]]:
    out: dict[str, list[HookRule]] = {}
    for hook in hooks:
        first = hook.rule["conditions"]["match"][0]
        at = hook.pointer + "/conditions/match/0"
        to = str(hook.rule["to"])
        expected = exprs.rule(at + "/expected", first.get("expected"), to)
        actual = exprs.rule(
            at + "/actual", first.get("actual"), None, hook_payload=True
        )
        if expected is not None and actual is not None:
            out.setdefault(hook.topic, []).append(
                HookRule(hook.topic, to, expected, actual)
            )
    return {topic: tuple(rules) for topic, rules in out.items()}
