"""W1 as the tables grow (issue 21): empty tables against full ones, and during pruning.

Usage: ``python bench/growth.py [--dsn DSN] [--completed 10000000]
[--expired 1000000] [--jobs 2000] [--inflight 50] [--rounds 3] [--keep]
[--template DB] [--prune paced|call] [--pace X] [--during N]``

Two scratch databases are created beside ``--dsn`` (dropped at the end
unless ``--keep``), each with W1 (bench/graphs/w1.yaml) deployed: one stays
empty, the other is filled through COPY, not by running jobs, with
``--completed`` finished W1 jobs (created over the last 6 days: inside the
default 7-day retention, so no engine may prune them) and ``--expired`` W1
jobs that expired 8 to 9 days ago (older than the retention: prunable), each
job with its three activity rows as a real W1 job leaves them; then VACUUM
ANALYZE. W1 (engine + workers + client in this one process, ``--jobs`` jobs
with ``--inflight`` in flight, bench/run.py's workload) then runs on the empty
and the full database alternately, ``--rounds`` times each, because the
machine is shared and noisy; jobs/s and the process CPU per job
(``time.process_time``) are reported for each run. Then ``HotMesh.prune()``
deletes the expired jobs while W1 runs on the full database (alternating with
runs on the empty one for as long as the pruning lasts, or for ``--during``
runs on the full one, then stopped), and one more prune call, with nothing
left to delete, is timed. ``--prune paced`` (the default) prunes as the
engines' background pass does (``prune(paced=True)``: engine options
``prune_batch``, ``prune_pace``, ``prune_max_pause``); ``--prune call`` all at
once, as ``HotMesh.prune()`` and the CLI do. ``--template DB`` copies the full
database from DB (``CREATE DATABASE ... TEMPLATE``; a database a run with
``--keep`` left, or one filled by ``--fill-only``) instead of filling it, so
several runs can start from the same backlog. ``uptime`` and ``pgbench -N``
(bench/run.py's ``run_pgbench``) come from the same run, before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

from hotmesh.store.admin import create_database, drop_database

DAY = 86400.0
JOB_COLUMNS = ["id", "app_id", "job_id", "gid", "key", "topic", "version", "status",
               "metadata", "data", "err", "created_at", "updated_at", "expired_at"]  # fmt: skip
ACTIVITY_COLUMNS = ["job", "activity_id", "dimension", "type", "leg", "done", "input",
                    "output", "hook", "error", "started_at", "ended_at", "why"]  # fmt: skip
WHY_T1 = json.dumps({"code": 200, "transitions": [{"to": "a1", "fired": True}]})
WHY_A1 = json.dumps({"code": 200, "transitions": [{"to": "a2", "fired": True}]})


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S.") + f"{moment.microsecond // 1000:03d}"


def _jobs(first: int, count: int, start: datetime, span: float) -> Any:
    """W1 job rows ``first .. first+count-1``, created evenly over ``span``
    seconds from ``start`` (ids grow with time), each finished 50 ms after it
    started and expired 60 s later, as bench/graphs/w1.yaml's ``expire: 60``."""
    step = span / count
    for i in range(count):
        created = start + timedelta(seconds=i * step)
        updated = created + timedelta(milliseconds=50)
        jid, gid, n = secrets.token_urlsafe(16), uuid.uuid4().hex, first + i
        meta = json.dumps({
            "jc": _stamp(created), "ju": _stamp(updated), "sc": 3,
            "ts": created.strftime("%Y%m%d%H%M"), "aid": "t1", "app": "bw1",
            "gid": gid, "jid": jid, "key": "", "ngn": "bw1:growthbench0",
            "tpc": "bw1.start", "vrs": "1",
        })  # fmt: skip
        yield (
            n, "bw1", jid, gid, "", "bw1.start", "1", 0, meta,
            json.dumps({"a": n + 1, "b": (n + 1) * 2}), None, created, updated,
            updated + timedelta(seconds=60),
        )  # fmt: skip


def _activities(first: int, count: int, start: datetime, span: float) -> Any:
    """The three activity rows (t1, a1, a2) of each job of ``_jobs``."""
    step = span / count
    for i in range(count):
        n = first + i
        t0 = start + timedelta(seconds=i * step)
        t1, t2 = t0 + timedelta(milliseconds=20), t0 + timedelta(milliseconds=50)
        c0, c1, c2 = _stamp(t0), _stamp(t1), _stamp(t2)
        yield (
            n, "t1", ",0", "trigger", 2, True, json.dumps({"n": n}),
            json.dumps({"data": {"n": n}, "metadata": {
                "ac": c0, "au": c0, "aid": "t1", "atp": "trigger", "dad": ",0"}}),
            None, None, t0, t0, WHY_T1,
        )  # fmt: skip
        yield (
            n, "a1", ",0,0", "worker", 2, True, json.dumps({"n": n}),
            json.dumps({"data": {"a": n + 1}, "metadata": {
                "ac": c0, "au": c1, "l2": 1, "aid": "a1", "atp": "worker",
                "dad": ",0,0"}}),
            None, None, t0, t1, WHY_A1,
        )  # fmt: skip
        yield (
            n, "a2", ",0,0,0", "worker", 2, True, json.dumps({"a": n + 1}),
            json.dumps({"data": {"b": (n + 1) * 2}, "metadata": {
                "ac": c1, "au": c2, "l2": 1, "aid": "a2", "atp": "worker",
                "dad": ",0,0,0"}}),
            None, None, t1, t2, None,
        )  # fmt: skip


async def _finish(conn: asyncpg.Connection, out: dict[str, float]) -> None:
    """After either fill: the id sequence past the rows, VACUUM ANALYZE (timed
    into ``out``), and the database's size."""
    await conn.execute(
        "SELECT setval('hotmesh.jobs_id_seq', (SELECT max(id) FROM hotmesh.jobs))"
    )
    t0 = time.perf_counter()
    await conn.execute("VACUUM ANALYZE", timeout=None)
    out["vacuum_s"] = time.perf_counter() - t0
    out["db_mb"] = (
        await conn.fetchval("SELECT pg_database_size(current_database())") / 2**20
    )


async def fill(dsn: str, completed: int, expired: int) -> dict[str, float]:
    """COPY the expired jobs (oldest, lowest ids) then the completed ones."""
    conn = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    out: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        parts = [
            (1, expired, now - timedelta(days=9), DAY),
            (expired + 1, completed, now - timedelta(days=6), 6 * DAY - 600),
        ]
        chunk = 500_000
        for first, count, start, span in parts:
            for off in range(0, count, chunk):
                size = min(chunk, count - off)
                begin = start + timedelta(seconds=span * off / max(count, 1))
                piece = span * size / max(count, 1)
                await conn.copy_records_to_table(
                    "jobs", schema_name="hotmesh", columns=JOB_COLUMNS,
                    records=_jobs(first + off, size, begin, piece),
                )  # fmt: skip
                await conn.copy_records_to_table(
                    "activities", schema_name="hotmesh", columns=ACTIVITY_COLUMNS,
                    records=_activities(first + off, size, begin, piece),
                )  # fmt: skip
                print(f"  copied jobs {first + off + size - 1:,}", flush=True)
        out["copy_s"] = time.perf_counter() - t0
        await _finish(conn, out)
    finally:
        await conn.close()
    return out


JOBS_SQL = """
INSERT INTO hotmesh.jobs (id, app_id, job_id, gid, key, topic, version, status,
                          metadata, data, err, created_at, updated_at, expired_at)
SELECT n, 'bw1', jid, gid, '', 'bw1.start', '1', 0,
       jsonb_build_object(
           'jc', to_char(c, 'YYYYMMDDHH24MISS.MS'), 'ju', to_char(u, 'YYYYMMDDHH24MISS.MS'),
           'sc', 3, 'ts', to_char(c, 'YYYYMMDDHH24MI'), 'aid', 't1', 'app', 'bw1',
           'gid', gid, 'jid', jid, 'key', '', 'ngn', 'bw1:growthbench0',
           'tpc', 'bw1.start', 'vrs', '1'),
       jsonb_build_object('a', n + 1, 'b', (n + 1) * 2), NULL, c, u, u + interval '60 s'
FROM (SELECT n, $3::timestamptz + (n - $5) * $4::float8 * interval '1 s' AS c,
             substr(md5(random()::text), 1, 22) AS jid, md5(random()::text) AS gid
      FROM generate_series($1::bigint, $2::bigint) AS n) AS s,
     LATERAL (SELECT c + interval '50 ms' AS u) AS x
"""
ACTIVITIES_SQL = """
INSERT INTO hotmesh.activities (job, activity_id, dimension, type, leg, done, input,
                                output, hook, error, started_at, ended_at, why)
SELECT n, v.aid, v.dad, v.typ, 2, true, v.inp, v.outp, NULL, NULL, v.s, v.e, v.why
FROM (SELECT n, t0, t0 + interval '20 ms' AS t1, t0 + interval '50 ms' AS t2,
             to_char(t0, 'YYYYMMDDHH24MISS.MS') AS c0
      FROM (SELECT n, $3::timestamptz + (n - $5) * $4::float8 * interval '1 s' AS t0
            FROM generate_series($1::bigint, $2::bigint) AS n) AS g) AS s,
LATERAL (VALUES
    ('t1', ',0', 'trigger', jsonb_build_object('n', n),
     jsonb_build_object('data', jsonb_build_object('n', n), 'metadata', jsonb_build_object(
         'ac', c0, 'au', c0, 'aid', 't1', 'atp', 'trigger', 'dad', ',0')),
     t0, t0, $6::jsonb),
    ('a1', ',0,0', 'worker', jsonb_build_object('n', n),
     jsonb_build_object('data', jsonb_build_object('a', n + 1), 'metadata', jsonb_build_object(
         'ac', c0, 'au', to_char(t1, 'YYYYMMDDHH24MISS.MS'), 'l2', 1, 'aid', 'a1',
         'atp', 'worker', 'dad', ',0,0')),
     t0, t1, $7::jsonb),
    ('a2', ',0,0,0', 'worker', jsonb_build_object('a', n + 1),
     jsonb_build_object('data', jsonb_build_object('b', (n + 1) * 2), 'metadata',
         jsonb_build_object('ac', to_char(t1, 'YYYYMMDDHH24MISS.MS'),
             'au', to_char(t2, 'YYYYMMDDHH24MISS.MS'), 'l2', 1, 'aid', 'a2',
             'atp', 'worker', 'dad', ',0,0,0')),
     t1, t2, NULL::jsonb)
) AS v(aid, dad, typ, inp, outp, s, e, why)
"""
# what the fill drops and rebuilds: every index and constraint of the two
# tables but their primary keys (new ids come in order, so the primary keys
# stay cheap to fill; the random job_id indexes and the foreign keys do not),
# with the other tables' foreign keys to them (some need the unique index)
DEFERRED_SQL = """
SELECT contype::text AS kind, conrelid::regclass::text AS tab, conname AS name,
       pg_get_constraintdef(oid) AS def
FROM pg_constraint
WHERE (conrelid IN ('hotmesh.jobs'::regclass, 'hotmesh.activities'::regclass)
       AND contype IN ('u', 'f'))
   OR (confrelid IN ('hotmesh.jobs'::regclass, 'hotmesh.activities'::regclass)
       AND contype = 'f')
UNION ALL
SELECT 'index', i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid IN ('hotmesh.jobs'::regclass, 'hotmesh.activities'::regclass)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""


async def fill_sql(dsn: str, completed: int, expired: int) -> dict[str, float]:
    """The same rows as ``fill``, generated by the server (INSERT ... SELECT
    over generate_series) with the secondary indexes, the unique constraint
    and the foreign key dropped first and built again at the end: the tables
    end with the same indexes and constraints, then VACUUM ANALYZE."""
    conn, other = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    out: dict[str, float] = {}
    try:
        for c in (conn, other):
            await c.execute("SET TimeZone = 'UTC'; SET maintenance_work_mem = '1GB'")
        t0 = time.perf_counter()
        order = {"f": 0, "u": 1, "index": 2}  # drop in this order, add in reverse
        deferred = sorted(
            await conn.fetch(DEFERRED_SQL), key=lambda r: order[r["kind"]]
        )
        for row in deferred:
            if row["kind"] == "index":
                await conn.execute(f"DROP INDEX hotmesh.{row['name']}")
            else:
                await conn.execute(
                    f"ALTER TABLE {row['tab']} DROP CONSTRAINT {row['name']}"
                )
        parts = [
            (1, expired, now - timedelta(days=9), DAY),
            (expired + 1, completed, now - timedelta(days=6), 6 * DAY - 600),
        ]
        chunk = 1_000_000
        for first, count, start, span in parts:
            step = span / max(count, 1)
            for off in range(0, count, chunk):
                lo, hi = first + off, first + min(off + chunk, count) - 1
                # jobs and activities side by side: the foreign key is off
                await asyncio.gather(
                    conn.execute(JOBS_SQL, lo, hi, start, step, first, timeout=None),
                    other.execute(
                        ACTIVITIES_SQL, lo, hi, start, step, first, WHY_T1, WHY_A1,
                        timeout=None,
                    ),
                )  # fmt: skip
                print(f"  inserted jobs {hi:,}", flush=True)
        out["insert_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for row in reversed(deferred):
            if row["kind"] == "index":
                await conn.execute(row["def"], timeout=None)
            else:
                await conn.execute(
                    f"ALTER TABLE {row['tab']} ADD CONSTRAINT {row['name']} {row['def']}",
                    timeout=None,
                )
        out["index_s"] = time.perf_counter() - t0
        await _finish(conn, out)
    finally:
        await conn.close()
        await other.close()
    return out


async def w1(dsn: str, jobs: int, inflight: int, base: int) -> dict[str, float]:
    """One W1 load run: jobs/s and the process CPU per job."""
    workload = run.WORKLOADS["w1"]
    runner = await workload.start(dsn, True)
    try:
        for i in range(20):  # warm the pools and the plan caches
            await runner.run(base + i)
        sem = asyncio.Semaphore(inflight)
        bad: list[int] = []

        async def one(i: int) -> None:
            async with sem:
                if not await runner.run(base + i):
                    bad.append(i)

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(20, 20 + jobs)))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await runner.stop()
    if bad:
        raise RuntimeError(f"{len(bad)} W1 jobs gave a wrong output")
    return {"jobs_s": jobs / elapsed, "cpu_ms_per_job": cpu * 1000 / jobs}


async def pruning(dsn: str, paced: bool, pace: float | None) -> Any:
    """A HotMesh that prunes the full database (default retention), paced as
    its engines do or at once; returns (mesh, task)."""
    from hotmesh import HotMesh

    # one pass, counted here: no background pass of this mesh beside it
    engine: dict[str, Any] = {"connection": {"dsn": dsn}, "prune_interval": 86400}
    if pace is not None:
        engine["prune_pace"] = pace
    hm = await HotMesh.init(app_id="bw1", engine=engine)
    started = time.perf_counter()

    async def go() -> dict[str, Any]:
        pruned = await hm.prune(paced=paced)
        return {**pruned, "seconds": time.perf_counter() - started}

    return hm, asyncio.get_running_loop().create_task(go())


async def idle_prune(dsn: str) -> float:
    """Seconds of one prune call with nothing left to delete."""
    from hotmesh import HotMesh

    hm = await HotMesh.init(app_id="bw1", engine={"connection": {"dsn": dsn}})
    try:
        t0 = time.perf_counter()
        left = await hm.prune()
        assert left["jobs"] == 0, left
        return time.perf_counter() - t0
    finally:
        await hm.stop()


async def _expired_left(dsn: str, expired: int) -> dict[str, Any]:
    """What a stopped prune deleted of the ``expired`` jobs (the fill's, all
    created 8 to 9 days ago: no others are as old)."""
    conn = await asyncpg.connect(dsn)
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM hotmesh.jobs"
            " WHERE app_id = 'bw1' AND created_at < now() - interval '7 days'"
        )
    finally:
        await conn.close()
    return {"jobs": expired - left, "left": left, "stopped": True}


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


async def main(args: argparse.Namespace) -> None:
    tag = uuid.uuid4().hex[:6]
    names = {"empty": f"hm_bench_growth_empty_{tag}", "full": f"hm_bench_growth_{tag}"}
    dsns = {k: run.with_database(args.dsn, v) for k, v in names.items()}
    admin = await asyncpg.connect(args.dsn)
    report: dict[str, Any] = {"uptime_start": _uptime(), "args": vars(args)}
    args.keep = args.keep or args.fill_only
    try:
        report["pgbench_start"] = await run.run_pgbench(admin, args.dsn, 5)
        for key, name in names.items():
            if key == "full" and args.template:
                t0 = time.perf_counter()
                await admin.execute(
                    f'CREATE DATABASE "{name}" TEMPLATE "{args.template}"', timeout=None
                )
                report["fill"] = {"template_s": time.perf_counter() - t0}
                continue
            await create_database(args.dsn, name)
            await run.WORKLOADS["w1"].prepare(dsns[key])
        if not args.template:
            print(f"databases {names}; filling {args.completed:,} + {args.expired:,}")
            filler = fill if args.fill == "copy" else fill_sql
            report["fill"] = await filler(dsns["full"], args.completed, args.expired)
        print(f"fill {report['fill']}", flush=True)
        if args.fill_only:
            print(f"filled {names['full']}: pass it as --template")
            return
        runs: dict[str, list[dict[str, float]]] = {"empty": [], "full": []}
        base = 10_000_000_000
        for r in range(args.rounds):
            for key in ("empty", "full") if r % 2 == 0 else ("full", "empty"):
                base += 10**6
                got = await w1(dsns[key], args.jobs, args.inflight, base)
                runs[key].append(got)
                print(f"  {key}: {got}", flush=True)
        report["empty"], report["full"] = runs["empty"], runs["full"]
        # W1 while the engines' pruning deletes the expired jobs
        pruned_from = time.perf_counter()
        hm, task = await pruning(dsns["full"], args.prune == "paced", args.pace)
        during: list[dict[str, float]] = []
        beside: list[dict[str, float]] = []
        try:
            while not task.done() and not (args.during and len(during) >= args.during):
                base += 10**6
                got = await w1(dsns["full"], args.jobs, args.inflight, base)
                got["pruning_throughout"] = float(not task.done())
                during.append(got)
                print(f"  full, pruning: {got}", flush=True)
                if task.done():
                    break
                base += 10**6
                got = await w1(dsns["empty"], args.jobs, args.inflight, base)
                beside.append(got)
                print(f"  empty, pruning elsewhere: {got}", flush=True)
            if task.done():
                report["prune"] = await task
            else:  # --during runs done: stop it, and count what it deleted
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                report["prune"] = {
                    **await _expired_left(dsns["full"], args.expired),
                    "seconds": time.perf_counter() - pruned_from,
                }
        finally:
            await hm.stop()
        report["during_prune"], report["empty_during_prune"] = during, beside
        if "stopped" not in report["prune"]:
            report["idle_prune_s"] = await idle_prune(dsns["full"])
        report["pgbench_end"] = await run.run_pgbench(admin, args.dsn, 5)
        report["uptime_end"] = _uptime()
    finally:
        if not args.keep:
            for name in names.values():
                await drop_database(args.dsn, name)
        await admin.close()
    print(json.dumps(report, indent=1, default=str))
    print(summary(report))


def summary(report: dict[str, Any]) -> str:
    empty, full = report["empty"], report["full"]
    during = [r for r in report["during_prune"] if r.get("pruning_throughout")]
    lines = [
        f"uptime: {report['uptime_start']} / {report['uptime_end']}",
        "pgbench -N 1 client tps: "
        f"{report['pgbench_start'].get('tps_c1')} / {report['pgbench_end'].get('tps_c1')}",
        f"fill: {report['fill']}",
        f"W1 empty: {_median(empty, 'jobs_s'):,.0f} jobs/s, "
        f"{_median(empty, 'cpu_ms_per_job'):.2f} ms CPU/job (median of {len(empty)})",
        f"W1 full:  {_median(full, 'jobs_s'):,.0f} jobs/s, "
        f"{_median(full, 'cpu_ms_per_job'):.2f} ms CPU/job (median of {len(full)})",
    ]
    pairs = [f["jobs_s"] / e["jobs_s"] for e, f in zip(empty, full, strict=False)]
    lines.append(
        "full/empty jobs/s, run by run: "
        + ", ".join(f"{p:.2f}" for p in pairs)
        + f" (median {statistics.median(pairs):.2f})"
    )
    if during:
        lines.append(
            f"W1 full while pruning: {_median(during, 'jobs_s'):,.0f} jobs/s, "
            f"{_median(during, 'cpu_ms_per_job'):.2f} ms CPU/job "
            f"(median of {len(during)} runs wholly inside the pruning)"
        )
    idle = report.get("idle_prune_s")
    lines.append(
        f"prune: {report['prune']}; idle prune call "
        + ("not run (stopped)" if idle is None else f"{idle:.2f} s")
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=run.DEFAULT_DSN)
    parser.add_argument("--completed", type=int, default=10_000_000)
    parser.add_argument("--expired", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--template", help="copy the full database from this one")
    parser.add_argument("--fill-only", action="store_true", help="fill, keep, stop")
    parser.add_argument("--prune", choices=["paced", "call"], default="paced")
    parser.add_argument("--pace", type=float, help="engine option prune_pace (paced)")
    parser.add_argument(
        "--during", type=int, default=0,
        help="stop the prune after this many W1 runs inside it (0: when it ends)",
    )  # fmt: skip
    parser.add_argument(
        "--fill", choices=["sql", "copy"], default="sql",
        help="sql: the server generates the rows, indexes built after; copy: COPY",
    )  # fmt: skip
    asyncio.run(main(parser.parse_args()))
