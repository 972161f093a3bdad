"""The compiled, immutable Plan: everything the engine reads about an app version.

A ``Plan`` is built by :func:`hotmesh.compiler.compile_app` from a loaded
manifest. Every expression in it is already compiled (``expr.Rule`` /
``expr.MapRule``); every mapping is a read-only ``MappingProxyType``. The
engine never looks at the raw manifest except through ``ActivityPlan.config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from hotmesh.expr.js import strict_eq

if TYPE_CHECKING:
    from hotmesh.expr import MapRule, Rule

#: Version of the serialized plan document (``plan_to_document``).
PLAN_FORMAT = 1

_EMPTY: Mapping[str, Any] = MappingProxyType({})

ActivityType = Literal[
    "trigger", "worker", "await", "hook", "signal", "cycle", "interrupt"
]


@dataclass(frozen=True, slots=True)
class Match:
    """One condition of a transition: ``actual`` resolved, compared to ``expected``.

    ``expected`` is a literal and is never resolved, even when
    it looks like ``'{a.output.data.x}'``.
    """

    expected: Any
    actual: Rule


@dataclass(frozen=True, slots=True)
class Transition:
    """An edge from a parent activity to child ``to``.

    ``unconditional`` edges (written without ``conditions``) fire for any
    status code, including errors and 202 pendings. Otherwise the edge applies
    when the parent's code is in ``code`` (default ``(200,)``) and the
    ``match`` entries pass, combined with ``gate`` (``and``: all, ``or``: any).
    """

    to: str
    code: tuple[int, ...] = (200,)
    unconditional: bool = True
    gate: Literal["and", "or"] = "and"
    match: tuple[Match, ...] = ()

    def passes(self, code: int, context: Mapping[str, Any]) -> bool:
        """Whether this edge fires when the parent finished with ``code``.

        ``context`` is the parent's job context (what ``Rule.evaluate`` reads).
        """
        if self.unconditional:
            return True
        if code not in self.code:
            return False
        if not self.match:
            return True
        results = (
            strict_eq(m.expected, m.actual.evaluate(context)) for m in self.match
        )
        return any(results) if self.gate == "or" else all(results)


@dataclass(frozen=True, slots=True)
class HookRule:
    """A graph ``hooks:`` rule: signals on ``topic`` resume activity ``to``.

    ``expected`` is resolved in the *waiting* job's context when the hook
    registers; ``actual`` against ``{"$self": {"hook": {"data": payload}},
    "$hook": {"data": payload}}`` when a signal arrives. Equal values give the
    same signal key ``<topic>:<value>``. Only ``match[0]`` of the source rule is
    used; ``gate`` is ignored.
    """

    topic: str
    to: str
    expected: Rule
    actual: Rule


@dataclass(frozen=True, slots=True)
class ActivityPlan:
    """One compiled activity (as written in the manifest, plus compiler-added fields).

    Fields:
      id, type, title: as written (legacy ``activity`` type becomes ``hook``).
      graph: the owning graph's ``subscribes`` topic.
      trigger: id of the owning graph's trigger.
      parent: id of the parent (``None`` for the trigger and unreachable
        activities). An activity has one parent, except that a *shortcut* edge
        from one of its ancestors is allowed (upstream durable/v1 relies on
        it); ``parent``/``ancestors`` then follow the deepest path, so the
        engine must take an execution's dimension from the spawning message,
        not from ``depth``.
      ancestors: ids from the trigger down to ``parent`` (empty for the trigger).
      depth: ``len(ancestors)``.
      transitions: outgoing edges in manifest order.
      topic: worker/await stream topic (``subtype`` falling back to ``topic``);
        signal/interrupt ``topic``. May be a mapping, so it is a ``Rule``.
      subtype: signal ``one``/``all`` (``None`` for other types).
      input_maps / output_maps / job_maps / signal_maps / resolver_maps:
        compiled map blocks (``input.maps`` etc.), ``None`` when absent.
      fields: every other expression-valued key, compiled, keyed by its dotted
        name: ``sleep``, ``emit``, ``persist``, ``statusThreshold``, ``await``,
        ``expire`` (bound from the graph), ``persistent``, ``stats.id``,
        ``stats.key``, ``entity``, ``target``, ``reason``, ``throw``, ``code``,
        ``status``, ``descend``, ``stack``, ``key_name``, ``key_value``,
        ``scrub``, ``stats.parent``, ``stats.adjacent``, ``stats.measures``.
        Absent keys are absent. ``expire`` and ``persistent`` are the graph's,
        except that an interrupt keeps its own ``expire``.
      retry: error code (string, as written) -> max retries.
      cycle_pivot: ``True`` when some ``cycle`` names this activity as ancestor.
      cycle_ancestor: for a ``cycle``, the id it re-enters.
      hook_topic: for a webhook ``hook``, the topic of the graph rule targeting it.
      consumes: activity id (or ``$job``) -> paths this activity reads
        (``output/data/x``, ``hook/data/y``, ``data/z`` for ``$job``).
      produces: paths of this activity's state that anything reads,
        e.g. ``output/data/x``; only these need persisting.
      escalation: a hook's compiled ``escalation`` block, if any.
      telemetry: compiled ``telemetry`` attributes (span attribute -> value).
      config: the activity's raw JSON (read-only view) for anything else.
    """

    id: str
    type: ActivityType
    graph: str
    trigger: str
    title: str | None = None
    parent: str | None = None
    ancestors: tuple[str, ...] = ()
    depth: int = 0
    transitions: tuple[Transition, ...] = ()
    topic: Rule | None = None
    subtype: str | None = None
    input_maps: MapRule | None = None
    output_maps: MapRule | None = None
    job_maps: MapRule | None = None
    signal_maps: MapRule | None = None
    resolver_maps: MapRule | None = None
    fields: Mapping[str, Rule] = field(default_factory=lambda: _EMPTY)
    retry: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    cycle_pivot: bool = False
    cycle_ancestor: str | None = None
    hook_topic: str | None = None
    consumes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    produces: tuple[str, ...] = ()
    escalation: MapRule | None = None
    telemetry: MapRule | None = None
    config: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def children(self) -> tuple[str, ...]:
        """Ids of the possible children, in transition order."""
        return tuple(t.to for t in self.transitions)

    def field_rule(self, name: str) -> Rule | None:
        """The compiled expression for ``name`` (e.g. ``"sleep"``), or ``None``."""
        return self.fields.get(name)


@dataclass(frozen=True, slots=True)
class GraphPlan:
    """One graph of the app.

    ``expire`` and ``persistent`` are compiled expressions (``None`` when the
    graph does not set them; the engine applies its default expiry).
    ``input_schema``/``output_schema`` are informational JSON Schemas.
    ``activity_ids`` lists the graph's activities in manifest order, trigger
    included. ``produces`` is the graph's job-data paths (``data/x``,
    ``data/list/0``) written by any activity's ``job.maps``:
    key suffix ``[n]`` expands to ``n`` slots, ``[-]``/``[_]`` are omitted.
    """

    subscribes: str
    trigger: str
    activity_ids: tuple[str, ...]
    publishes: str | None = None
    expire: Rule | None = None
    persistent: Rule | None = None
    produces: tuple[str, ...] = ()
    input_schema: Mapping[str, Any] | None = None
    output_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled app version: the engine's only input.

    ``hooks`` maps a signal topic to its rules in manifest order; the engine
    uses the first.
    """

    app_id: str
    version: str
    graphs: tuple[GraphPlan, ...]
    activities: Mapping[str, ActivityPlan]
    hooks: Mapping[str, tuple[HookRule, ...]] = field(default_factory=lambda: _EMPTY)
    settings: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    format: int = PLAN_FORMAT

    def graph_for_topic(self, topic: str) -> GraphPlan | None:
        """The graph whose ``subscribes`` is ``topic``, or ``None``."""
        for graph in self.graphs:
            if graph.subscribes == topic:
                return graph
        return None

    def activity(self, activity_id: str) -> ActivityPlan:
        """The activity with this id; ``KeyError`` if there is none."""
        return self.activities[activity_id]

    def graph_of(self, activity_id: str) -> GraphPlan:
        """The graph that owns ``activity_id``; ``KeyError`` if unknown."""
        topic = self.activities[activity_id].graph
        graph = self.graph_for_topic(topic)
        if graph is None:  # pragma: no cover - compile_app keeps these consistent
            raise KeyError(activity_id)
        return graph

    def worker_topics(self) -> tuple[str, ...]:
        """The literal worker topics (one stream consumer each).

        Workers whose topic is a mapping are resolved at run time and not listed.
        """
        topics = {
            act.topic.source
            for act in self.activities.values()
            if act.type == "worker" and act.topic is not None and act.topic.is_constant
        }
        return tuple(sorted(str(t) for t in topics))

    def hook_rule(self, topic: str) -> HookRule | None:
        """The first hook rule registered for ``topic``, or ``None``."""
        rules = self.hooks.get(topic)
        return rules[0] if rules else None
