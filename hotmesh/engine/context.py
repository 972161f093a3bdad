"""Job context for expressions, compact timestamps, and the job-data writer."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hotmesh.expr.js import UNDEFINED
from hotmesh.store.records import ActivityRow

_SUFFIX = re.compile(r"^(.*)\[(\d+|-|_)\]$")


def stamp(now: datetime) -> str:
    """``YYYYMMDDHHMMSS.mmm`` (a compact ISO form)."""
    # f-string fields: several times faster than strftime, and called per step
    return (
        f"{now.year:04d}{now.month:02d}{now.day:02d}{now.hour:02d}{now.minute:02d}"
        f"{now.second:02d}.{now.microsecond // 1000:03d}"
    )


def node(row: ActivityRow) -> dict[str, Any]:
    """An activity's node in the job context."""
    out: dict[str, Any] = {}
    if row.input is not None:
        out["input"] = {"data": row.input}
    out["output"] = row.output if isinstance(row.output, dict) else {}
    if row.hook is not None:
        out["hook"] = {"data": row.hook}
    return out


def build(
    metadata: Mapping[str, Any],
    data: Mapping[str, Any],
    rows: Iterable[ActivityRow],
    self_id: str | None,
    dad: str,
    self_node: dict[str, Any] | None = None,
    status: int | None = None,
) -> dict[str, Any]:
    """The context an activity at ``dad`` reads: ancestors' state in its dimension
    (``status``: the semaphore, as ``metadata.js``)."""
    ctx: dict[str, Any] = {"metadata": dict(metadata), "data": dict(data)}
    if status is not None:
        ctx["metadata"]["js"] = status
    # Per activity: the row in this dimension's lineage with the deepest
    # dimension; else (not this activity itself) the first row seen.
    best: dict[str, ActivityRow] = {}
    lineage: dict[str, bool] = {}
    for row in rows:
        aid, dim = row.activity_id, row.dimension
        mine = dim == dad or dad.startswith(dim + ",")
        had = lineage.get(aid)
        if had is None:
            if mine or aid != self_id:
                best[aid], lineage[aid] = row, mine
        elif mine and (not had or len(dim) > len(best[aid].dimension)):
            best[aid], lineage[aid] = row, True
    for aid, row in best.items():
        ctx[aid] = node(row)
    if self_id is not None:
        ctx[self_id] = self_node if self_node is not None else ctx.get(self_id, {})
        ctx["$self"] = ctx[self_id]
    # No ctx["$job"] = ctx: the evaluator reads {$job...} from the context itself.
    # A self-reference made every context a cycle that only the garbage
    # collector frees, and full collections of them held the event loop.
    return ctx


def new_data(ctx: dict[str, Any], data: Mapping[str, Any]) -> None:
    """``ctx`` after job maps wrote ``data``: as ``build`` would make it again
    (only the job data changed), without rebuilding every node."""
    ctx["data"] = dict(data)


def _merge(target: dict[str, Any], key: str, value: Any) -> None:
    current = target.get(key)
    if isinstance(value, dict) and isinstance(current, dict):
        merged = dict(current)
        for k, v in value.items():
            _merge(merged, k, v)
        target[key] = merged
    else:
        target[key] = value


def _slots(current: Any, value: Any, size: int) -> dict[str, Any]:
    """``name[size]``: the present entries of ``value`` merged over ``current``.

    Slots are keyed by index (``"0"`` .. ``str(size - 1)``) and merged per
    index, so parallel branches writing different slots all keep theirs; a
    slot never written is absent (as upstream's per-slot fields).
    """
    if isinstance(current, Mapping):
        merged = dict(current)
    elif isinstance(current, list):  # a job written before slots were keyed
        merged = {str(i): v for i, v in enumerate(current) if v is not None}
    else:
        merged = {}
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        items = ()  # no entries: nothing is written
    for k, v in items:
        index = _index(k)
        if index is not None and index < size and v is not UNDEFINED:
            merged[str(index)] = v
    # in index order, as PostgreSQL's jsonb returns them (shorter keys first)
    return dict(sorted(merged.items(), key=lambda kv: (len(kv[0]), kv[0])))


def _index(key: Any) -> int | None:
    """A slot index from ``3``/``"3"`` (canonical digits); ``None`` for anything else."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if key >= 0 else None
    if isinstance(key, str) and key.isascii() and key.isdigit():
        return int(key) if str(int(key)) == key else None  # "01" is not slot 1
    return None


def write_job_data(data: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a ``job.maps`` result into job data field by field (honouring the path suffixes)."""
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
        slots = _slots(out.get(name), value, int(suffix))
        if slots:
            out[name] = slots
    return out


def trace_ids(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The job's W3C trace and span ids (``trc``/``spn``), when it is traced."""
    return {k: metadata[k] for k in ("trc", "spn") if k in metadata}


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
