"""A workflow's searchable fields (``MemFlow.workflow.search()``, ``enrich``):
job data ``_<name>``, replay-safe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh.memflow.context import WorkflowContext, current


class Search:
    """Searchable per-workflow fields (job data ``_<name>``), replay-safe."""

    def __init__(self, ctx: WorkflowContext) -> None:
        self._ctx = ctx

    def _value(self, name: str) -> Any:
        key = f"_{name}"
        if key in self._ctx.search:
            return self._ctx.search[key]
        return self._ctx.state.get(key)

    async def set(self, fields: Mapping[str, Any] | str, value: Any = None) -> None:
        """Set fields (a mapping, or one name and value)."""
        items = fields.items() if isinstance(fields, Mapping) else [(fields, value)]
        conv = self._ctx.converter
        for name, val in items:
            self._ctx.search[f"_{name}"] = conv.to_json(val, f"search field '{name}'")

    async def get(self, name: str) -> Any:
        """One field (None when unset)."""
        return self._value(name)

    async def mget(self, *names: str) -> list[Any]:
        """Several fields."""
        return [self._value(n) for n in names]

    async def delete(self, *names: str) -> None:
        """Clear fields (stored as null)."""
        for name in names:
            self._ctx.search[f"_{name}"] = None

    async def incr(self, name: str, amount: float = 1) -> float:
        """Add ``amount``; recorded, so a replay does not add it again."""
        ctx = self._ctx
        index = ctx.next_index()
        value = ctx.recorded(index, "search", name)
        if value is not None:
            return float(value["data"])
        result = float(self._value(name) or 0) + amount
        if result.is_integer():
            result = int(result)
        ctx.markers[ctx.marker("search", index)] = {"data": result}
        ctx.search[f"_{name}"] = result
        return float(result)  # as a replay gives it (a cached run keeps it)


def search() -> Search:
    """The search session of this workflow."""
    return Search(current())


async def enrich(fields: Mapping[str, Any]) -> None:
    """Set searchable fields of this workflow."""
    await search().set(fields)
