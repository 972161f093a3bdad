"""``wf.entity()``: a JSON document per workflow (upstream's Entity API).

Each change (``set``, ``merge``, ``append``, ``delete``, ``increment``) is a
durable step: it takes a replay index and records an ``-entity-<n>-`` marker
naming the operation. The document is rebuilt on every activation by
applying the changes again, in order, from the document the generation
started with; a change is a pure function of the document and its
arguments, so a replay rebuilds the same document. The document is written
to job data (``-entity-``: ``{gen, base, doc}``) with each activation that
changed it, where ``handle.entity()`` reads it and a ``continue_as_new``
generation starts from it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hotmesh import errors
from hotmesh.engine.payload import json_problem
from hotmesh.memflow.context import WorkflowContext, current

#: job data: the workflow's entity document ``{gen, base, doc}``
ENTITY_KEY = "-entity-"


def stored_document(data: Mapping[str, Any]) -> dict[str, Any]:
    """The entity document a job's data holds (empty when none)."""
    stored = data.get(ENTITY_KEY)
    doc = stored.get("doc") if isinstance(stored, Mapping) else None
    return dict(doc) if isinstance(doc, Mapping) else {}


def _start(ctx: WorkflowContext) -> dict[str, Any]:
    """The document this generation started with."""
    stored = ctx.state.get(ENTITY_KEY)
    if not isinstance(stored, Mapping):
        return {}
    if stored.get("gen") == ctx.generation:
        base = stored.get("base")
    else:  # a new generation carries the last one's document on
        base = stored.get("doc")
    return copy.deepcopy(dict(base)) if isinstance(base, Mapping) else {}


def _steps(path: str) -> list[str | int]:
    if not isinstance(path, str) or not path:
        raise errors.WorkflowError(
            f"an entity path is text such as 'items' or 'user.address.0', not {path!r}"
        )
    return [int(p) if p.lstrip("-").isdigit() else p for p in path.split(".")]


def _find(doc: Any, path: str) -> Any:
    node = doc
    for step in _steps(path):
        if isinstance(step, int) and isinstance(node, list):
            if not -len(node) <= step < len(node):
                return None
            node = node[step]
        elif isinstance(node, dict) and str(step) in node:
            node = node[str(step)]
        else:
            return None
    return node


def _parent(doc: dict[str, Any], path: str) -> tuple[Any, str | int]:
    """The container of ``path``'s last step (dicts made on the way)."""
    steps = _steps(path)
    node: Any = doc
    for step in steps[:-1]:
        if isinstance(step, int) and isinstance(node, list):
            node = node[step]
            continue
        nxt = node.get(str(step)) if isinstance(node, dict) else None
        if not isinstance(nxt, dict | list):
            if not isinstance(node, dict):
                raise errors.WorkflowError(f"entity path '{path}' crosses a value")
            nxt = node[str(step)] = {}
        node = nxt
    last = steps[-1]
    return node, last if isinstance(node, list) and isinstance(last, int) else str(last)


def _merge(into: dict[str, Any], value: Mapping[str, Any]) -> None:
    for key, val in value.items():
        if isinstance(val, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], val)
        else:
            into[key] = copy.deepcopy(val)


class Entity:
    """The workflow's JSON document; every change is recorded for replay."""

    def __init__(self, ctx: WorkflowContext) -> None:
        self._ctx = ctx

    def _doc(self) -> dict[str, Any]:
        if self._ctx.entity is None:
            self._ctx.entity = _start(self._ctx)
        doc: dict[str, Any] = self._ctx.entity
        return doc

    async def get(self, path: str | None = None) -> Any:
        """The document, or the value at ``path`` (``"a.b.0"``; None if absent)."""
        doc = self._doc()
        return copy.deepcopy(doc if path is None else _find(doc, path))

    async def _change(self, op: str, args: list[Any]) -> Any:
        ctx = self._ctx
        if ctx.scope:
            raise errors.WorkflowError(
                "entity() belongs to the workflow function, not to a hook function"
            )
        problem = json_problem(args)
        if problem is not None:
            raise errors.WorkflowError(
                f"entity {op}: value at {problem[0] or '/'} cannot be stored: "
                f"{problem[1]}"
            )
        doc = self._doc()
        index = ctx.next_index()
        await ctx.admit(index)
        recorded = ctx.recorded(index, "entity", op)
        if recorded is not None and recorded.get("name") not in (None, op):
            raise errors.NondeterminismError(
                f"workflow '{ctx.workflow_id}' step {index}: the history recorded "
                f"entity {recorded.get('name')}, but the code now calls entity {op}"
            )
        result = _apply(doc, op, args)
        if recorded is None and not ctx.query:
            ctx.markers[ctx.marker("entity", index)] = {"name": op}
            base = _start(ctx)
            ctx.markers[ENTITY_KEY] = {"gen": ctx.generation, "base": base, "doc": doc}
        return copy.deepcopy(result)

    async def set(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the document with ``value`` (an object); returns it."""
        return await self._change("set", [value])  # type: ignore[no-any-return]

    async def merge(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``value`` into the document, objects key by key; returns it."""
        return await self._change("merge", [value])  # type: ignore[no-any-return]

    async def append(self, path: str, value: Any) -> list[Any]:
        """Append ``value`` to the list at ``path`` (made when absent); returns it."""
        return await self._change("append", [path, value])  # type: ignore[no-any-return]

    async def delete(self, path: str) -> Any:
        """Remove the value at ``path``; returns it (None if absent)."""
        return await self._change("delete", [path])

    async def increment(self, path: str, by: float = 1) -> float:
        """Add ``by`` to the number at ``path`` (0 when absent); returns it."""
        return await self._change("increment", [path, by])  # type: ignore[no-any-return]


def _apply(doc: dict[str, Any], op: str, args: list[Any]) -> Any:
    """Change ``doc`` in place; the operation's result."""
    if op in ("set", "merge"):
        value = args[0]
        if not isinstance(value, Mapping):
            raise errors.WorkflowError(
                f"entity {op} takes an object (a dict), not {type(value).__name__}"
            )
        if op == "set":
            doc.clear()
        _merge(doc, value)
        return doc
    node, key = _parent(doc, args[0])
    if op == "delete":
        if isinstance(node, list) and isinstance(key, int):
            return node.pop(key) if -len(node) <= key < len(node) else None
        return node.pop(key, None) if isinstance(node, dict) else None
    if isinstance(node, list) and not _has(node, key):
        raise errors.WorkflowError(f"entity {op}: '{args[0]}' is past the list's end")
    current_value = node[key] if _has(node, key) else None
    if op == "append":
        if current_value is None:
            current_value = []
        if not isinstance(current_value, list):
            raise errors.WorkflowError(f"entity append: '{args[0]}' is not a list")
        current_value.append(copy.deepcopy(args[1]))
    else:  # increment
        if current_value is None:
            current_value = 0
        if isinstance(current_value, bool) or not isinstance(
            current_value, int | float
        ):
            raise errors.WorkflowError(f"entity increment: '{args[0]}' is not a number")
        current_value = current_value + args[1]
    node[key] = current_value
    return current_value


def _has(node: Any, key: str | int) -> bool:
    if isinstance(node, list) and isinstance(key, int):
        return -len(node) <= key < len(node)
    return isinstance(node, dict) and key in node


def entity() -> Entity:
    """This workflow's entity document (``await wf.entity().get()``)."""
    return Entity(current())
