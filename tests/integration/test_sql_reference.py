"""docs/reference/sql.md: every table and column is documented, and every example query runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import asyncpg

from hotmesh.store.sql import migrations
from hotmesh.testing import AppFactory

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "docs" / "reference" / "sql.md").read_text(encoding="utf-8")
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS \"x\"\.(\w+) \((.*?)\n\);", re.S)
_ADD = re.compile(r"ALTER TABLE \"x\"\.(\w+)(.*?);", re.S)


def _schema() -> dict[str, set[str]]:
    """Table -> columns, from the migrations (CREATE TABLE and ADD COLUMN)."""
    tables: dict[str, set[str]] = {"migrations": {"version", "applied_at"}}
    for _, sql in migrations('"x"'):
        for name, body in _TABLE.findall(sql):
            cols = tables.setdefault(name, set())
            for line in body.splitlines():
                word = line.strip().split(" ", 1)[0]
                if (
                    word
                    and word.upper() not in ("PRIMARY", "UNIQUE", "CHECK")
                    and (word.islower())
                ):
                    cols.add(word.rstrip(","))
        for name, body in _ADD.findall(sql):
            tables[name].update(re.findall(r"ADD COLUMN IF NOT EXISTS (\w+)", body))
    return tables


def test_every_table_and_column_is_documented() -> None:
    tables = _schema()
    assert {"jobs", "activities", "messages", "app_versions", "apps"} <= set(tables)
    for table, columns in tables.items():
        heading = f"\n### `{table}`\n"
        assert heading in REFERENCE, table
        section = REFERENCE.split(heading, 1)[1].split("\n### ", 1)[0]
        for column in columns:
            assert f"`{column}`" in section, (table, column)


def _worker(data: dict[str, Any]) -> Any:
    async def answer(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": data}

    return answer


async def test_every_example_query_runs(
    hotmesh_app: AppFactory, hotmesh_dsn: str
) -> None:
    hm = await hotmesh_app(
        ROOT / "graphs" / "order.yaml",
        workers=[
            {"topic": "inventory.check", "callback": _worker({"available": 1})},
            {"topic": "inventory.reserve", "callback": _worker({"reservationId": "r"})},
            {"topic": "inventory.backorder", "callback": _worker({"notified": True})},
        ],
    )
    await hm.pubsub(
        "order.requested", {"orderId": "order-1", "itemId": "i", "requestedQty": 2}
    )
    queries = re.findall(r"```sql\n(.*?)```", REFERENCE, re.S)
    assert len(queries) >= 6
    conn = await asyncpg.connect(hotmesh_dsn)
    try:
        results = [await conn.fetch(q) for q in queries]
    finally:
        await conn.close()
    timeline = next(
        r
        for q, r in zip(queries, results, strict=True)
        if "a.activity_id, a.dimension" in q
    )
    assert [row["activity_id"] for row in timeline] == [
        "order",
        "checkInventory",
        "notifyBackorder",
    ]
