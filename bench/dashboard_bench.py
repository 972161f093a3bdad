"""The web console's pages with a million jobs in the tables (issue 22).

Usage: ``python bench/dashboard_bench.py [--dsn DSN] [--jobs 1000000]
[--requests 40] [--keep NAME]``

In a scratch database (dropped afterwards unless ``--keep``): one deployed
app, ``--jobs`` job rows with two activity rows each, filled through COPY
(90 % done, 8 % running, 2 % failed, created over 30 days, the newest
minutes busiest), 2,000 waiting messages and 1,000 pending escalations, the
jobs finished in the last day tallied per minute (``job_minutes``, as the
processes that ended them write it with their heartbeats) and 8 registered
processes; then ANALYZE. The console is served by uvicorn in this process, and each page is
fetched ``--requests`` times (after 3 untimed) one after another over HTTP;
the table gives p50/p95/max per page in milliseconds, as the client sees it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from hotmesh import HotMesh
from hotmesh.dashboard import create_app, serve
from hotmesh.store import PostgresStore
from hotmesh.store.admin import create_database, drop_database

GRAPH = """
app:
  id: bench
  version: '1'
  graphs:
    - subscribes: bench.order
      publishes: bench.done
      activities:
        t: {type: trigger}
        w: {type: worker, topic: bench.work}
      transitions:
        t: [{to: w}]
"""

DAY = 86400.0


def _job_rows(count: int, now: datetime) -> Any:
    """(id, app_id, job_id, gid, key, topic, version, status, metadata, data, err,
    created_at, updated_at) for each job; the newest first in id order is not
    assumed: ids grow with time, as in a real table."""
    for i in range(count):
        # ages from 30 days down to 0, denser towards now (a quadratic spread)
        frac = (count - i) / count
        created = now - timedelta(seconds=30 * DAY * frac * frac)
        kind = i % 50
        if kind == 0:
            status, err = 0, json.dumps({"code": 500, "message": f"failed {i}"})
        elif kind < 5:
            status, err = 1, None
        else:
            status, err = 0, None
        data = json.dumps({"customer": {"id": i % 1000}, "note": f"order {i}"})
        yield (
            i + 1, "bench", f"job-{i:08d}", uuid.uuid4().hex, f"c-{i % 1000}",
            "bench.order", "1", status, "{}", data, err, created,
            created + timedelta(milliseconds=40),
        )  # fmt: skip


def _activity_rows(count: int, now: datetime) -> Any:
    for i in range(count):
        frac = (count - i) / count
        start = now - timedelta(seconds=30 * DAY * frac * frac)
        for aid, kind, dim, ms in (
            ("t", "trigger", ",0", 1),
            ("w", "worker", ",0,0", 30),
        ):
            yield (
                i + 1, aid, dim, kind, 2, True, "{}", '{"data": {}}', None, None,
                start, start + timedelta(milliseconds=ms),
            )  # fmt: skip


async def _live(conn: asyncpg.Connection) -> None:
    """What running processes would have written: their registry rows and the
    per-minute tally of the jobs they finished in the last day."""
    await conn.execute(
        """INSERT INTO hotmesh.job_minutes (app_id, minute, done, failed)
           SELECT app_id, date_trunc('minute', updated_at),
                  count(*) FILTER (WHERE err IS NULL), count(*) FILTER (WHERE err IS NOT NULL)
             FROM hotmesh.jobs
            WHERE updated_at >= now() - interval '1 day' AND (status <= 0 OR err IS NOT NULL)
            GROUP BY 1, 2
           ON CONFLICT DO NOTHING"""
    )
    await conn.execute(
        """INSERT INTO hotmesh.processes (owner, app_id, host, pid, version, engine,
                  topics, held, every)
           SELECT 'bench:' || g, 'bench', 'node-' || g, 1000 + g, 'bench', true,
                  ARRAY['bench.work'], g, 10
             FROM generate_series(1, 8) g
           ON CONFLICT (owner) DO UPDATE SET beat_at = now()"""
    )


async def fill(dsn: str, jobs: int) -> str:
    """Fill the scratch database; returns the id of a job to open."""
    store = await PostgresStore.open(dsn, "hotmesh", pool_size=4)
    try:
        hm = HotMesh.attach("bench", store)
        await hm.deploy(GRAPH)
        await hm.activate("1")
    finally:
        await store.close()
    conn = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "jobs", schema_name="hotmesh", records=_job_rows(jobs, now),
            columns=["id", "app_id", "job_id", "gid", "key", "topic", "version",
                     "status", "metadata", "data", "err", "created_at", "updated_at"],
        )  # fmt: skip
        await conn.execute(
            "SELECT setval('hotmesh.jobs_id_seq', (SELECT max(id) FROM hotmesh.jobs))"
        )
        await conn.copy_records_to_table(
            "activities", schema_name="hotmesh", records=_activity_rows(jobs, now),
            columns=["job", "activity_id", "dimension", "type", "leg", "done",
                     "input", "output", "hook", "error", "started_at", "ended_at"],
        )  # fmt: skip
        await conn.execute(
            """INSERT INTO hotmesh.messages (app_id, stream, type, job_id, payload, created_at)
               SELECT 'bench', 'bench.work', 'work', 'job-' || lpad(g::text, 8, '0'),
                      '{}'::jsonb, now() - g * interval '1 second'
                 FROM generate_series(1, 2000) g"""
        )
        await conn.execute(
            """INSERT INTO hotmesh.escalations (app_id, signal_key, topic, workflow_id,
                      activity_id, role, description)
               SELECT 'bench', 'job-' || lpad(g::text, 8, '0'), 'bench.approve',
                      'job-' || lpad(g::text, 8, '0'), 'w', 'approver', 'check ' || g
                 FROM generate_series(1, 1000) g"""
        )
        await _live(conn)
        await conn.execute("ANALYZE")
        print(
            f"filled {jobs} jobs in {time.perf_counter() - started:.1f} s", flush=True
        )
    finally:
        await conn.close()
    return f"job-{jobs - 10:08d}"


def measure(dsn: str, job_id: str, requests: int) -> list[tuple[str, list[float]]]:
    """Serve the console and time each page."""
    app = create_app(dsn=dsn)
    ready = threading.Event()
    port: list[int] = []

    def started(host: str, bound: int) -> None:
        port.append(bound)
        ready.set()

    server = serve.Server(serve.config(app, "127.0.0.1", 0), started)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not ready.wait(60):
        raise RuntimeError("the console did not start")
    pages = [
        "/",
        "/apps",
        "/apps/bench",
        "/jobs",
        "/jobs?status=error",
        "/jobs?status=running&app=bench",
        "/jobs?data=customer.id+%3D+42",
        "/jobs?key=c-42",
        f"/jobs?job={job_id[:10]}",
        "/jobs?since=2026-01-01T00:00Z&topic=bench.order",
        f"/jobs/{job_id}",
        "/workflows",
        "/escalations",
    ]
    out = []
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port[0]}", timeout=120
        ) as client:
            # a page far down the list, through its cursor
            first = client.get("/jobs", params={"limit": 50}).text
            cursor = first.split('class="next" href="')[1].split('"')[0]
            pages.insert(4, cursor.replace("&amp;", "&"))
            for page in pages:
                times = []
                for n in range(requests + 3):
                    t0 = time.perf_counter()
                    answer = client.get(page)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if answer.status_code != 200:
                        raise RuntimeError(f"{page}: HTTP {answer.status_code}")
                    if n >= 3:
                        times.append(elapsed)
                out.append((page, times))
    finally:
        server.should_exit = True
        thread.join(60)
    return out


def table(results: list[tuple[str, list[float]]]) -> str:
    lines = ["| page | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|"]
    for page, times in results:
        ordered = sorted(times)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        lines.append(
            f"| `{page}` | {statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f} |"
        )
    return "\n".join(lines)


async def _prepare(server: str, name: str, jobs: int) -> tuple[str, str]:
    dsn = server.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(server)
    try:
        there = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", name
        )
    finally:
        await conn.close()
    if there:  # --keep NAME of an earlier run: measure again (after a migration)
        store = await PostgresStore.open(dsn, "hotmesh", pool_size=2)
        await store.close()
        conn = await asyncpg.connect(dsn)
        try:
            await _live(conn)
        finally:
            await conn.close()
        return dsn, f"job-{jobs - 10:08d}"
    await create_database(server, name)
    return dsn, await fill(dsn, jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--keep", metavar="NAME", help="keep this database; reuse it when it exists"
    )
    args = parser.parse_args()
    name = args.keep or f"hm_bench_dash_{uuid.uuid4().hex[:8]}"
    server = args.dsn
    try:
        dsn, job_id = asyncio.run(_prepare(server, name, args.jobs))
        results = measure(dsn, job_id, args.requests)
        print(table(results))
    finally:
        if not args.keep:
            asyncio.run(drop_database(server, name))


if __name__ == "__main__":
    main()
