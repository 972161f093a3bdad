"""The engine stream's claim and ``next_due`` with many timers asleep (issue 21).

Usage: ``python bench/timer_scan.py [--dsn DSN] [--sleepers 15000 100000]
[--due 0] [--ready 20] [--claims 200]``

For each ``--sleepers`` count, a scratch database (dropped at the end) gets
the hotmesh schema of the code on ``sys.path`` (run it with an older export on
PYTHONPATH for the figures before a change) and, on the engine stream,
``--sleepers`` timers due in an hour (priority 5, inserted as a step inserts
a delayed message), ``--due`` timers whose time has come and ``--ready`` messages due now (priority 0-4). Then,
each inside a transaction rolled back so that nothing is consumed:
``EXPLAIN (ANALYZE, BUFFERS)`` of the claim (10 messages) and of
``next_due`` (64 times), and the mean time of ``--claims`` claims.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

import hotmesh
from hotmesh.store.admin import create_database, drop_database, migrate_database
from hotmesh.store.records import ENGINE_STREAM
from hotmesh.store.sql import queries

FILL = """
INSERT INTO hotmesh.messages (app_id, stream, type, priority, job_id, payload, visible_at)
SELECT 'ts', $1, $2, $3, 'job-' || n,
       jsonb_build_object('metadata', jsonb_build_object('jid', 'job-' || n, 'aid', 's1')),
       now() + make_interval(secs => $4 * (1 + n / 1e6))
  FROM generate_series(1, $5) AS n
"""


def _plan_line(plan: list[str]) -> str:
    keep = ("Scan", "Filter", "Buffers", "Execution Time", "Sort Method", "Limit")
    return "\n".join(line for line in plan if any(k in line for k in keep))


async def _rolled_back(conn: asyncpg.Connection, sql: str, *args: Any) -> list[Any]:
    """Rows of ``sql`` run in a transaction that is rolled back."""
    tx = conn.transaction()
    await tx.start()
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await tx.rollback()


async def one(
    admin_dsn: str, sleepers: int, due: int, ready: int, claims: int
) -> dict[str, Any]:
    name = f"hm_bench_timers_{uuid.uuid4().hex[:6]}"
    await create_database(admin_dsn, name)
    dsn = run.with_database(admin_dsn, name)
    out: dict[str, Any] = {"sleepers": sleepers, "due": due}
    try:
        await migrate_database(dsn)
        q = queries('"hotmesh"')
        claim = q.get("claim_plain") or q["claim"]
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(FILL, ENGINE_STREAM, "timehook", 5, 3600.0, sleepers)
            # timers whose time has come: created an hour ago, due a second ago
            await conn.execute(FILL, ENGINE_STREAM, "timehook", 5, 1.0, due)
            await conn.execute(
                "UPDATE hotmesh.messages SET created_at = created_at - interval '1 hour',"
                " visible_at = visible_at - interval '1 hour' WHERE visible_at < now() + interval '2 s'"
                " AND visible_at > created_at"
            )
            for p in range(ready):
                await conn.execute(FILL, ENGINE_STREAM, "transition", p % 5, 0.0, 1)
            await conn.execute("VACUUM ANALYZE hotmesh.messages")
            args = ("ts", ENGINE_STREAM, "bench", 30.0, 10)
            for label, sql, a in (("claim", claim, args), ("next_due", q["next_due"],
                                  ("ts", ENGINE_STREAM, 64))):  # fmt: skip
                for _ in range(6):  # past the plan cache's custom plans
                    await _rolled_back(conn, sql, *a)
                plan = await _rolled_back(conn, f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *a)
                out[label] = _plan_line([r[0] for r in plan])
            got = 0
            t0 = time.perf_counter()
            for _ in range(claims):
                got += len(await _rolled_back(conn, claim, *args))
            out["claim_ms"] = (time.perf_counter() - t0) * 1000 / claims
            out["claimed_per_call"] = got / claims
        finally:
            await conn.close()
    finally:
        await drop_database(admin_dsn, name)
    return out


async def main(args: argparse.Namespace) -> None:
    print(f"hotmesh from {hotmesh.__file__}")
    for n in args.sleepers:
        got = await one(args.dsn, n, args.due, args.ready, args.claims)
        print(
            json.dumps({k: v for k, v in got.items() if k not in ("claim", "next_due")})
        )
        print(
            f"claim plan:\n{got['claim']}\nnext_due plan:\n{got['next_due']}\n",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=run.DEFAULT_DSN)
    parser.add_argument("--sleepers", type=int, nargs="+", default=[15_000, 100_000])
    parser.add_argument("--due", type=int, default=0)
    parser.add_argument("--ready", type=int, default=20)
    parser.add_argument("--claims", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
