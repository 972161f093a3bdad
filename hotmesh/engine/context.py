"""Job context for expressions, compact timestamps, and the job-data writer (spec §3.1-§3.2)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hotmesh.expr.js import UNDEFINED
from hotmesh.store.records import ActivityRow

_SUFFIX = re.compile(r"^(.*)\[(\d+|-|_)\]$")


def stamp(now: datetime) -> str:
    """``YYYYMMDDHHMMSS.mmm`` (spec §3.1 compact ISO form)."""
    return now.strftime("%Y%m%d%H%M%S.") + f"{now.microsecond // 1000:03d}"


def node(row: ActivityRow) -> dict[str, Any]:
    """An activity's node in the job context."""
    out: dict[str, Any] = {}
    if row.input is not None:
        out["input"] = {"data": row.input}
    out["output"] = row.output if isinstance(row.output, dict) else {}
    if row.hook is not None:
        out["hook"] = {"data": row.hook}
    return out


def _is_prefix(dim: str, of: str) -> bool:
    return of == dim or of.startswith(dim + ",")


def build(
    metadata: Mapping[str, Any],
    data: Mapping[str, Any],
    rows: Iterable[ActivityRow],
    self_id: str | None,
    dad: str,
    self_node: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The context an activity at ``dad`` reads: ancestors' state in its dimension."""
    ctx: dict[str, Any] = {"metadata": dict(metadata), "data": dict(data)}
    best: dict[str, ActivityRow] = {}
    for row in rows:
        if not _is_prefix(row.dimension, dad):
            if row.activity_id in best or row.activity_id == self_id:
                continue
        prev = best.get(row.activity_id)
        if prev is None or (
            _is_prefix(row.dimension, dad)
            and (
                not _is_prefix(prev.dimension, dad)
                or len(row.dimension) > len(prev.dimension)
            )
        ):
            best[row.activity_id] = row
    for aid, row in best.items():
        ctx[aid] = node(row)
    if self_id is not None:
        ctx[self_id] = self_node if self_node is not None else ctx.get(self_id, {})
        ctx["$self"] = ctx[self_id]
    ctx["$job"] = ctx
    return ctx


def _merge(target: dict[str, Any], key: str, value: Any) -> None:
    current = target.get(key)
    if isinstance(value, dict) and isinstance(current, dict):
        merged = dict(current)
        for k, v in value.items():
            _merge(merged, k, v)
        target[key] = merged
    else:
        target[key] = value


def write_job_data(data: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a ``job.maps`` result into job data field by field (spec §3.2 suffixes)."""
    out = dict(data)
    for raw_key, value in patch.items():
        if value is UNDEFINED:
            continue
        match = _SUFFIX.match(raw_key)
        if match is None:
            _merge(out, raw_key, value)
            continue
        name, suffix = match.groups()
        if suffix in ("-", "_"):
            if isinstance(value, Mapping):
                for k, v in value.items():
                    if v is not UNDEFINED:
                        out[str(k)] = v
            continue
        size = int(suffix)
        slots: list[Any] = [None] * size
        items = value.items() if isinstance(value, Mapping) else enumerate(value or [])
        for k, v in items:
            index = int(k)
            if 0 <= index < size and v is not UNDEFINED:
                slots[index] = v
        out[name] = slots
    return out


def public_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Job data as published: ``-``/``_`` literal fields (markers, search) left out."""
    return {k: v for k, v in data.items() if not k.startswith(("-", "_"))}


def plain(value: Any) -> Any:
    """Drop ``UNDEFINED`` recursively so a value can be stored as JSON."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, (list, tuple)):
        return [None if v is UNDEFINED else plain(v) for v in value]
    return None if value is UNDEFINED else value
