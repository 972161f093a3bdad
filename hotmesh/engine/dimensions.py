"""Dimensions (``,0,1``) of activity executions, and the entry count an
activity's first row keeps in ``output.metadata.l2``."""

from __future__ import annotations

from hotmesh.store.records import ActivityRow


def dims(dad: str) -> list[str]:
    """``",0,1"`` -> ``["0", "1"]``."""
    return dad.split(",")[1:]


def dad_of(parts: list[str]) -> str:
    """``["0", "1"]`` -> ``",0,1"``."""
    return "," + ",".join(parts)


def reentry_dad(dad: str, index: int) -> str:
    """The dimension of entry ``index`` of an activity first run at ``dad``."""
    parts = dims(dad)
    parts[-1] = str(index)
    return dad_of(parts)


def entries(row: ActivityRow) -> int:
    """How many Leg 2 entries the activity of this first row has had."""
    meta = row.output.get("metadata", {}) if isinstance(row.output, dict) else {}
    value = meta.get("l2", 0)
    return value if isinstance(value, int) else 0


def with_entries(row: ActivityRow, count: int) -> ActivityRow:
    """A copy of the first row with its entry count set to ``count``."""
    out = dict(row.output) if isinstance(row.output, dict) else {}
    out["metadata"] = {**out.get("metadata", {}), "l2": count}
    # positional, field by field (a getattr per field cost more, issue 21)
    return ActivityRow(
        row.activity_id, row.dimension, row.type, row.leg, row.done, row.input,
        out, row.hook, row.error, row.started_at, row.ended_at, row.why,
    )  # fmt: skip


def done_row(row: ActivityRow) -> ActivityRow:
    """A copy of ``row`` with Leg 2 done."""
    return ActivityRow(
        row.activity_id, row.dimension, row.type, 2, True, row.input,
        row.output, row.hook, row.error, row.started_at, row.ended_at, row.why,
    )  # fmt: skip
