"""Does NOTIFY serialise commits? pgbench with and without a ``pg_notify`` (issue 21).

    python bench/notify_lock.py [--dsn DSN] [--seconds 10] [--clients 1,8] [--rounds 2]

PostgreSQL takes one lock for the whole cluster (an AccessExclusive lock on
object 0 of ``pg_database``, ``PreCommit_Notify`` in ``async.c``) in every
transaction that has issued a NOTIFY and holds it until that transaction's
commit is done, WAL flush included, so that notifications enter the queue in
commit order. Transactions that do not NOTIFY share their WAL flushes (group
commit) and scale with clients; the ones that do cannot share them.

Each round runs two pgbench scripts in a scratch database, by turns, with
each number of clients: ``plain`` updates one random ``pgbench_accounts`` row
and commits; ``notify`` does the same plus ``SELECT pg_notify(...)`` (a
payload like hotmesh's, nobody listening). Prints tps per script and clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DEFAULT_DSN, _load, _short_id, find_pgbench

SCRIPTS = {
    "plain": (
        "\\set aid random(1, 100000 * :scale)\n"
        "BEGIN;\n"
        "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"
        "END;\n"
    ),
    "notify": (
        "\\set aid random(1, 100000 * :scale)\n"
        "BEGIN;\n"
        "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"
        "SELECT pg_notify('hm_bench_notify', 'd|bw1|job-' || :aid);\n"
        "END;\n"
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dsn", default=os.environ.get("HOTMESH_BENCH_DSN", DEFAULT_DSN)
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    exe = find_pgbench()
    if exe is None:
        parser.error("pgbench not found on PATH")
    clients = [int(c) for c in args.clients.split(",")]
    parts = urlsplit(args.dsn)
    conn_args = [
        *("-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)),
        *("-U", parts.username or "postgres"),
    ]
    env = {**os.environ, **({"PGPASSWORD": parts.password} if parts.password else {})}
    db = f"hm_bench_notify_{_short_id()}"

    def pgbench(*extra: str) -> str:
        done = subprocess.run(
            [exe, *conn_args, *extra, db],
            env=env,
            capture_output=True,
            text=True,
            timeout=args.seconds + 120,
            check=True,
        )
        return done.stdout

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    print(f"load average before: {_load()}")
    asyncio.run(admin(f'CREATE DATABASE "{db}"'))
    try:
        pgbench("-i", "-q", "-s", "1")
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            for name, text in SCRIPTS.items():
                files[name] = Path(tmp) / f"{name}.sql"
                files[name].write_text(text)
            for r in range(args.rounds):
                for c in clients:
                    for name in SCRIPTS if r % 2 == 0 else reversed(SCRIPTS):
                        out = pgbench(
                            *("-n", "-f", str(files[name]), "-T", str(args.seconds)),
                            *("-c", str(c), "-j", str(min(c, os.cpu_count() or 1))),
                        )
                        m = re.search(r"tps = ([\d.]+)", out)
                        tps = float(m.group(1)) if m else float("nan")
                        print(f"round {r + 1}: {name:6} {c:2} clients {tps:8,.0f} tps")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
