"""Structural pass: activity ids, triggers, transitions, parents, ancestors, cycles, hooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from hotmesh.compiler.report import Reporter

ACTIVITY_TYPES = frozenset(
    {"trigger", "worker", "await", "hook", "signal", "cycle", "interrupt"}
)


def pointer(*parts: str | int) -> str:
    """A JSON pointer from raw parts (``~`` and ``/`` escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class ActivityInfo:
    """What the structural pass learned about one activity."""

    id: str
    graph: int
    pointer: str
    config: Mapping[str, Any]
    type: str
    parent: str | None = None
    parent_edges: list[tuple[str, str]] = field(default_factory=list)
    ancestors: tuple[str, ...] = ()
    reachable: bool = False
    edges: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    cycle_pivot: bool = False
    cycle_ancestor: str | None = None
    hook_topic: str | None = None


@dataclass
class GraphInfo:
    """One graph: its position, topic, trigger and (owned) activity ids in order."""

    index: int
    pointer: str
    config: Mapping[str, Any]
    subscribes: str
    trigger: str | None = None
    ids: list[str] = field(default_factory=list)


@dataclass
class HookInfo:
    """One graph ``hooks:`` rule, with where it was written."""

    topic: str
    graph: int
    pointer: str
    rule: Mapping[str, Any]


@dataclass
class Structure:
    """The result of :func:`analyze_structure`."""

    graphs: list[GraphInfo]
    activities: dict[str, ActivityInfo]
    hooks: list[HookInfo]


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def normalized_type(config: Mapping[str, Any]) -> str:
    """The activity type with legacy ``activity`` rewritten to ``hook``."""
    kind = config.get("type")
    return "hook" if kind == "activity" else str(kind)


def analyze_structure(document: Mapping[str, Any], report: Reporter) -> Structure:
    """Run every structural check over ``document``, reporting problems as found."""
    app = _as_dict(document.get("app"))
    graphs: list[GraphInfo] = []
    activities: dict[str, ActivityInfo] = {}
    for gi, graph in enumerate(_as_list(app.get("graphs"))):
        graph = _as_dict(graph)
        info = GraphInfo(
            gi, pointer("app", "graphs", gi), graph, str(graph.get("subscribes", ""))
        )
        graphs.append(info)
        _collect_activities(info, activities, report)
    for info in graphs:
        _link_transitions(info, activities, report)
        _ancestors(info, activities, report)
    _cycles(activities, report)
    hooks = _hook_rules(graphs, activities, report)
    _joins(activities, {h.topic for h in hooks}, report)
    return Structure(graphs, activities, hooks)


def _joins(
    activities: dict[str, ActivityInfo], topics: set[str], report: Reporter
) -> None:
    """An await's ``join.topic`` must be a hook topic of this app: the child's
    end is signalled there, and a signal nobody can route would fail the child."""
    for act in activities.values():
        topic = _as_dict(act.config.get("join")).get("topic")
        if act.type != "await" or not isinstance(topic, str) or "{" in topic:
            continue
        if topic not in topics:
            report(
                act.pointer + "/join/topic",
                f"join topic '{topic}' has no hook rule in this app",
                "error",
            )


def _collect_activities(
    info: GraphInfo, activities: dict[str, ActivityInfo], report: Reporter
) -> None:
    acts = _as_dict(info.config.get("activities"))
    where = pointer("app", "graphs", info.index, "activities")
    if not acts:
        report(where, f"graph '{info.subscribes}' has no activities", "error")
        return
    for aid, config in acts.items():
        config = _as_dict(config)
        here = pointer("app", "graphs", info.index, "activities", aid)
        if aid in activities:
            first = activities[aid]
            report(
                here,
                f"duplicate activity id '{aid}' (first defined at"
                f" {report.where(first.pointer)}); ids must be unique across all graphs",
                "error",
            )
            continue
        act = ActivityInfo(aid, info.index, here, config, normalized_type(config))
        if act.type not in ACTIVITY_TYPES:
            kinds = ", ".join(sorted(ACTIVITY_TYPES))
            report(
                here + "/type",
                f"activity '{aid}' has unknown type {config.get('type')!r} (one of: {kinds})",
                "error",
            )
        activities[aid] = act
        info.ids.append(aid)
        if act.type == "trigger":
            if info.trigger is None:
                info.trigger = aid
            else:
                report(
                    here,
                    f"graph '{info.subscribes}' has a second trigger '{aid}'"
                    f" (the first is '{info.trigger}'); a graph has exactly one",
                    "error",
                )
    if info.trigger is None:
        report(where, f"graph '{info.subscribes}' has no trigger activity", "error")


def _link_transitions(
    info: GraphInfo, activities: dict[str, ActivityInfo], report: Reporter
) -> None:
    transitions = _as_dict(info.config.get("transitions"))
    for source, edges in transitions.items():
        here = pointer("app", "graphs", info.index, "transitions", source)
        parent = activities.get(source)
        if parent is None or parent.graph != info.index:
            report(
                here,
                _not_in_graph("transition from", source, info, activities),
                "error",
            )
            continue
        seen: set[str] = set()
        for ei, edge in enumerate(_as_list(edges)):
            edge = _as_dict(edge)
            to = str(edge.get("to", ""))
            at = pointer("app", "graphs", info.index, "transitions", source, ei, "to")
            child = activities.get(to)
            if child is None or child.graph != info.index:
                report(
                    at,
                    _not_in_graph(
                        f"transition from '{source}' to", to, info, activities
                    ),
                    "error",
                )
                continue
            if to in seen:
                report(at, f"duplicate transition from '{source}' to '{to}'", "error")
                continue
            seen.add(to)
            if child.type == "trigger":
                report(
                    at, f"transition from '{source}' into the trigger '{to}'", "error"
                )
                continue
            child.parent_edges.append((source, at))
            parent.edges.append(
                (pointer("app", "graphs", info.index, "transitions", source, ei), edge)
            )


def _not_in_graph(
    what: str, aid: str, info: GraphInfo, activities: Mapping[str, ActivityInfo]
) -> str:
    other = activities.get(aid)
    if other is None:
        return f"{what} unknown activity '{aid}'"
    return (
        f"{what} '{aid}', which belongs to another graph;"
        f" transitions stay inside graph '{info.subscribes}'"
    )


def _chain(
    aid: str,
    trigger: str,
    activities: Mapping[str, ActivityInfo],
    memo: dict[str, tuple[str, ...] | None],
) -> tuple[str, ...] | None:
    """Ancestors of ``aid`` (trigger first) along its deepest parent; None if unreachable.

    A depth-first walk up the parent edges with an explicit stack, so a chain
    of any length compiles (a recursive walk hit Python's recursion limit at
    about 1,000 activities). A back edge to an activity on the current path
    counts as no chain (the caller reports it as a second parent); results
    that met no back edge do not depend on the path and are memoized.
    """
    found = _start(aid, trigger, activities, memo, set())
    if found is not _MORE:
        return cast("tuple[str, ...] | None", found)
    visiting = {aid}
    # frame: [activity, next parent edge, best chain so far, met a back edge]
    stack: list[list[Any]] = [[aid, 0, None, False]]
    returned: Any = _MORE
    while True:
        frame = stack[-1]
        edges = activities[frame[0]].parent_edges
        if returned is not _MORE:
            above, tainted = returned
            parent = edges[frame[1] - 1][0]
            frame[3] = frame[3] or tainted
            if above is not None and (
                frame[2] is None or len(above) + 1 > len(frame[2])
            ):
                frame[2] = (*above, parent)
            returned = _MORE
        if frame[1] < len(edges):
            parent = edges[frame[1]][0]
            frame[1] += 1
            found = _start(parent, trigger, activities, memo, visiting)
            if found is _MORE:
                visiting.add(parent)
                stack.append([parent, 0, None, False])
            else:
                returned = (found, parent in visiting)
            continue
        stack.pop()
        visiting.discard(frame[0])
        if not frame[3]:
            memo[frame[0]] = frame[2]
        if not stack:
            return cast("tuple[str, ...] | None", frame[2])
        returned = (frame[2], frame[3])


_MORE = object()


def _start(
    aid: str,
    trigger: str,
    activities: Mapping[str, ActivityInfo],
    memo: Mapping[str, tuple[str, ...] | None],
    visiting: set[str],
) -> Any:
    """The chain of ``aid`` when known without walking further, else ``_MORE``."""
    if activities[aid].type == "trigger":
        return () if aid == trigger else None
    if aid in visiting:
        return None
    if aid in memo:
        return memo[aid]
    return _MORE


def _ancestors(
    info: GraphInfo, activities: dict[str, ActivityInfo], report: Reporter
) -> None:
    """Parent and ancestors of every activity.

    An activity has one parent, with one exception upstream relies on
    (durable/v1's ``collator_cycler``): a *shortcut* edge from a parent that is
    itself an ancestor of the other parent. Then ``parent``/``ancestors``
    follow the deepest parent.
    """
    memo: dict[str, tuple[str, ...] | None] = {}
    for aid in info.ids:
        act = activities[aid]
        if act.type == "trigger":
            act.reachable = aid == info.trigger
            continue
        chain = (
            None
            if info.trigger is None
            else _chain(aid, info.trigger, activities, memo)
        )
        if chain is None:
            if info.trigger is not None:
                report(
                    act.pointer,
                    f"activity '{aid}' is not reachable from the trigger"
                    f" '{info.trigger}' and will never run",
                    "warning",
                )
            continue
        act.reachable = True
        act.ancestors = chain
        act.parent = chain[-1]
        for other, at in act.parent_edges:
            if other not in chain:
                report(
                    at,
                    f"activity '{aid}' has two parents, '{act.parent}' and '{other}';"
                    " a second parent must be an ancestor of the first",
                    "error",
                )


def _cycles(activities: dict[str, ActivityInfo], report: Reporter) -> None:
    for act in activities.values():
        if act.type != "cycle":
            continue
        target = act.config.get("ancestor")
        at = act.pointer + pointer("ancestor")
        if not isinstance(target, str) or target not in activities:
            report(at, f"cycle '{act.id}' names unknown ancestor '{target}'", "error")
            continue
        if target not in act.ancestors:
            path = " > ".join(act.ancestors) or "none"
            report(
                at,
                f"cycle '{act.id}' names '{target}', which is not one of its"
                f" ancestors ({path})",
                "error",
            )
            continue
        act.cycle_ancestor = target
        activities[target].cycle_pivot = True


def _hook_rules(
    graphs: list[GraphInfo], activities: dict[str, ActivityInfo], report: Reporter
) -> list[HookInfo]:
    found: list[HookInfo] = []
    for info in graphs:
        for topic, rules in _as_dict(info.config.get("hooks")).items():
            for ri, rule in enumerate(_as_list(rules)):
                rule = _as_dict(rule)
                here = pointer("app", "graphs", info.index, "hooks", topic, ri)
                to = rule.get("to")
                target = activities.get(to) if isinstance(to, str) else None
                if target is None:
                    report(
                        here + "/to",
                        f"hook rule '{topic}' targets unknown activity '{to}'",
                        "error",
                    )
                    continue
                if target.type != "hook":
                    report(
                        here + "/to",
                        f"hook rule '{topic}' targets '{to}', a {target.type};"
                        " hook rules must target a hook activity",
                        "error",
                    )
                    continue
                match = _as_list(_as_dict(rule.get("conditions")).get("match"))
                if not match or not isinstance(match[0], Mapping):
                    report(
                        here,
                        f"hook rule '{topic}' needs conditions.match[0] with expected and actual",
                        "error",
                    )
                    continue
                if target.hook_topic is None:
                    target.hook_topic = str(topic)
                found.append(HookInfo(str(topic), info.index, here, rule))
    return found
