"""Expression pass: compile every mapping value, check its references, track dependencies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hotmesh import expr
from hotmesh.compiler.report import Reporter
from hotmesh.compiler.structure import pointer
from hotmesh.errors import ExpressionError, ExpressionSyntaxError

if TYPE_CHECKING:
    from hotmesh.expr import MapRule, Rule

#: Context variables any expression may read.
CONTEXT_VARS = frozenset(
    {"$job", "$self", "$graph", "$app", "$input", "$output", "$item", "$key", "$index"}
)
#: Iteration variables that never name stored state.
_LOCAL_VARS = frozenset(
    {"$graph", "$app", "$input", "$output", "$item", "$key", "$index", "$hook"}
)

#: Map blocks: ActivityPlan attribute -> path inside the activity config.
MAP_BLOCKS: dict[str, tuple[str, ...]] = {
    "input_maps": ("input", "maps"),
    "output_maps": ("output", "maps"),
    "job_maps": ("job", "maps"),
    "signal_maps": ("signal", "maps"),
    "resolver_maps": ("resolver", "maps"),
    "escalation": ("escalation",),
    "telemetry": ("telemetry",),
}

#: Expression-valued fields: dotted name -> path inside the activity config.
FIELDS: dict[str, tuple[str, ...]] = {
    name: tuple(name.split("."))
    for name in (
        "sleep", "emit", "persist", "statusThreshold", "await", "expire",
        "entity", "target", "reason", "throw", "code", "status", "descend",
        "stack", "key_name", "key_value", "scrub", "join.topic", "join.id",
        "stats.id", "stats.key", "stats.parent", "stats.adjacent", "stats.measures",
        "priority", "concurrency.key", "rate.key",
    )
}  # fmt: skip


def dig(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` inside nested dicts, or ``None``."""
    value: Any = config
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _message(exc: ExpressionError) -> str:
    if isinstance(exc, ExpressionSyntaxError):
        return f"invalid expression {exc.text!r}: {exc.reason} at column {exc.column}"
    return str(exc).splitlines()[0]


def _strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


class ExpressionPass:
    """Compiles expressions, reporting syntax, function and reference problems.

    ``consumes[act][owner]`` collects the state paths activity ``act`` reads
    from ``owner`` (an activity id or ``$job``), as the deployer does.
    """

    def __init__(self, report: Reporter, graph_of: Mapping[str, int]) -> None:
        self.report = report
        self.graph_of = graph_of  # activity id -> index of its graph
        self.consumes: dict[str, dict[str, set[str]]] = {}

    def rule(
        self, where: str, value: Any, reader: str | None, *, hook_payload: bool = False
    ) -> Rule | None:
        """Compile ``value`` written at pointer ``where``; ``None`` after a problem."""
        try:
            compiled = expr.compile(value)
        except ExpressionError as exc:
            self.report(where + pointer(*exc.path), _message(exc))
            return None
        self._references(where, value, compiled.references, reader, hook_payload)
        return compiled

    def map_rule(self, where: str, block: Any, reader: str | None) -> MapRule | None:
        """Compile a map block written at ``where``; ``None`` after a problem."""
        if not isinstance(block, Mapping):
            self.report(where, "a map block must be an object of key: expression")
            return None
        try:
            compiled = expr.compile_map(dict(block))
        except ExpressionError as exc:
            self.report(where + pointer(*exc.path), _message(exc))
            return None
        self._references(where, block, compiled.references, reader, False)
        return compiled

    def _references(
        self,
        where: str,
        value: Any,
        references: frozenset[str],
        reader: str | None,
        hook_payload: bool,
    ) -> None:
        for ref in sorted(references):
            head, _, rest = ref.partition(".")
            if head.startswith("$"):
                known = head in CONTEXT_VARS or (hook_payload and head == "$hook")
                if not known:
                    self.report(
                        self._locate_ref(where, value, ref),
                        f"unknown context variable '{head}' in '{{{ref}}}'",
                    )
                    continue
            elif head not in self.graph_of:
                self.report(
                    self._locate_ref(where, value, ref),
                    f"unknown reference '{{{ref}}}': '{head}' is not an activity id"
                    " or a context variable",
                )
                continue
            elif reader is not None and self.graph_of[head] != self.graph_of[reader]:
                self.report(
                    self._locate_ref(where, value, ref),
                    f"'{{{ref}}}' reads activity '{head}' of another graph;"
                    " it is always undefined here",
                    "warning",
                )
                continue
            if reader is not None and not hook_payload:
                self._depend(reader, head, rest)

    def _depend(self, reader: str, head: str, rest: str) -> None:
        owner = reader if head == "$self" else head
        if owner in _LOCAL_VARS or not rest:
            return
        section = rest.partition(".")[0]
        if owner != "$job" and section == "input":
            return  # input data of an activity is never persisted
        paths = self.consumes.setdefault(reader, {}).setdefault(owner, set())
        paths.add(rest.replace(".", "/"))

    @staticmethod
    def _locate_ref(where: str, value: Any, ref: str) -> str:
        """The pointer of the first string in ``value`` that mentions ``ref``."""
        needle = "{" + ref
        for path, text in _strings(value):
            if needle in text:
                return where + pointer(*path)
        return where

    def produces(self) -> dict[str, set[str]]:
        """Activity id -> every path of its state that some activity reads."""
        out: dict[str, set[str]] = {}
        for owners in self.consumes.values():
            for owner, paths in owners.items():
                if owner != "$job":
                    out.setdefault(owner, set()).update(paths)
        return out
