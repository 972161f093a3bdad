"""Values to and from PostgreSQL: jsonb encoding, rows to records, records to
the jsonb documents the step statements take."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import asyncpg

from hotmesh.store.records import ActivityRow, JobRow, Message, NewMessage

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_c_encoder = getattr(json.encoder, "c_make_encoder", None)
if _c_encoder is not None:
    # JSONEncoder.encode builds a C encoder (and a circular-reference table)
    # on every call; every step encodes four documents, so one is built once.
    # Without the table, a self-containing value fails with RecursionError
    # instead of ValueError (neither is JSON, and job values come from JSON).
    _iterencode = _c_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring, None,
        ":", ",", False, False, False,
    )  # fmt: skip

    def _encode(value: Any) -> str:
        return "".join(_iterencode(value, 0))

else:  # pragma: no cover - CPython always has the C accelerator
    _encode = _ENCODER.encode  # type: ignore[assignment]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON for jsonb; NaN and infinities become ``null``, as ``JSON.stringify``
    writes them (jsonb has no such numbers, and expressions can produce them)."""
    try:
        return _encode(value)
    except ValueError:  # rare: only then walk the value
        return _encode(_finite(value))


class PooledConnection(asyncpg.Connection):
    """Pooled connection without the per-release reset query.

    hotmesh keeps no session state on pooled connections (LISTEN uses its own
    connection), and the default reset costs a transaction per release.
    """

    def get_reset_query(self) -> str:
        return ""


async def init_connection(conn: asyncpg.Connection) -> None:
    """Every pooled connection reads and writes jsonb through ``dumps``/``json.loads``."""
    await conn.set_type_codec(
        "jsonb", encoder=dumps, decoder=json.loads, schema="pg_catalog"
    )


def job_row(row: asyncpg.Record) -> JobRow:
    """A ``jobs`` row as a record."""
    return JobRow(
        pk=row["id"],
        job_id=row["job_id"],
        gid=row["gid"],
        key=row["key"],
        topic=row["topic"],
        version=row["version"],
        status=row["status"],
        metadata=row["metadata"],
        data=row["data"],
        err=row["err"],
    )


def locked_row(row: asyncpg.Record) -> JobRow:
    """A job row read with its activity rows (``acts``, one JSON array each)."""
    job = job_row(row)
    job.activities = [ActivityRow(*a) for a in row["acts"]]
    return job


def activity_row(row: asyncpg.Record) -> ActivityRow:
    """An ``activities`` row as a record (timestamps when the query read them)."""
    keys = row.keys()
    return ActivityRow(
        activity_id=row["activity_id"],
        dimension=row["dimension"],
        type=row["type"],
        leg=row["leg"],
        done=row["done"],
        input=row["input"],
        output=row["output"],
        hook=row["hook"],
        error=row["error"],
        started_at=row["started_at"] if "started_at" in keys else None,
        ended_at=row["ended_at"] if "ended_at" in keys else None,
        why=row["why"] if "why" in keys else None,
    )


def activity_doc(rows: Sequence[ActivityRow]) -> list[dict[str, Any]]:
    """Activity rows as one jsonb parameter (``jsonb_to_recordset``): one encode
    per statement instead of nine parallel arrays checked element by element."""
    return [
        {
            "a": r.activity_id,
            "d": r.dimension,
            "t": r.type,
            "l": r.leg,
            "dn": r.done,
            "i": r.input,
            "o": r.output,
            "h": r.hook,
            "e": r.error,
            **({"w": r.why} if r.why is not None else {}),
        }
        for r in rows
    ]


def message_doc(messages: Sequence[NewMessage]) -> list[dict[str, Any]]:
    """New messages as one jsonb parameter (see ``activity_doc``)."""
    return [
        {
            "s": m.stream,
            "t": m.type,
            "p": m.priority,
            "j": m.job_id,
            "pl": {**m.payload, "guid": m.guid},
            "d": m.delay,
            "r": m.reserved_by,
            **({"ck": m.ckey} if m.ckey is not None else {}),
            **({"rk": m.rkey} if m.rkey is not None else {}),
            "i": i,  # which of them flow_grant lets go out reserved
        }
        for i, m in enumerate(messages)
    ]


def reserved(
    rows: Sequence[asyncpg.Record], messages: Sequence[NewMessage]
) -> list[Message]:
    """The ``messages`` the statement inserted already reserved (by their guid)."""
    ids = {r["guid"]: r["id"] for r in rows if r["id"] is not None and r["reserved_by"]}
    return [
        Message(
            ids[m.guid],
            m.type,
            {**m.payload, "guid": m.guid},
            1,
            m.stream,
            m.priority,
            m.ckey,
            m.rkey,
        )
        for m in messages
        if m.guid in ids
    ]
