"""Schedules and delayed starts: how fast ticks fire, and how late.

Usage: ``python bench/schedules_bench.py [--dsn DSN] [--schedules 500]
[--delayed 500] [--rounds 5] [--pgbench-seconds 10]``

Three figures, each in its own scratch database (dropped afterwards), plus
pgbench on the same server, side by side:

- **fire**: ``--schedules`` schedules ``every="1m"`` on a trigger-only graph;
  a ``ManualClock`` moves a minute and firing passes (``fire_due``) run until
  every tick has started its job. Ticks/s per round (median of ``--rounds``).
- **delayed**: ``--delayed`` jobs published with ``delay="1m"`` (pubs/s),
  then the clock moves a minute: firing passes queue their starts (starts/s)
  and the engine runs them (all jobs done: jobs/s from the clock move).
- **latency**: one schedule ``every="1s"`` for 10 s on the real clock, the
  firing loop on: how late each tick's job was created after its time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as harness

from hotmesh import HotMesh
from hotmesh.clock import ManualClock

APP = """
app:
  id: sb
  version: '1'
  graphs:
    - subscribes: sb.tick
      publishes: sb.done
      activities:
        t: {type: trigger}
"""
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _mesh(dsn: str, **engine: Any) -> HotMesh:
    hm = await HotMesh.init("sb", engine={"connection": {"dsn": dsn}, **engine})
    await hm.deploy(APP)
    await hm.activate("1")
    return hm


async def fire(dsn: str, count: int, rounds: int) -> dict[str, Any]:
    clock = ManualClock(T0)
    hm = await _mesh(dsn, clock=clock, schedules=False)
    try:
        for i in range(count):
            await hm.schedules.create(f"s{i}", "sb.tick", every="1m", overlap="allow")
        rates, passes = [], []
        for _ in range(rounds):
            clock.advance(60)
            started, n = time.perf_counter(), 0
            fired = 0
            while fired < count:
                got = await hm.schedules.fire_due()
                if not got:
                    raise RuntimeError(f"a pass fired nothing after {fired}/{count}")
                fired += len(got)
                n += 1
            rates.append(count / (time.perf_counter() - started))
            passes.append(n)
    finally:
        await hm.stop()
    return {
        "schedules": count,
        "rounds": rounds,
        "ticks_per_s_median": statistics.median(rates),
        "ticks_per_s_all": [round(r, 1) for r in rates],
        "passes_per_round": passes[0],
    }


async def delayed(dsn: str, count: int) -> dict[str, Any]:
    clock = ManualClock(T0)
    hm = await _mesh(dsn, clock=clock, schedules=False)
    done: set[str] = set()
    all_done = asyncio.Event()

    def on_done(_topic: str, output: dict[str, Any]) -> None:
        done.add(output["metadata"]["jid"])
        if len(done) >= count:
            all_done.set()

    await hm.sub("sb.done", on_done)
    try:
        started = time.perf_counter()
        for i in range(count):
            await hm.pub("sb.tick", {"i": i}, delay="1m")
        pubs = count / (time.perf_counter() - started)
        clock.advance(60)
        started = time.perf_counter()
        queued = 0
        while queued < count:
            got = await hm.schedules.fire_due()
            if not got:
                raise RuntimeError(f"a pass queued nothing after {queued}/{count}")
            queued += len(got)
        starts = count / (time.perf_counter() - started)
        await asyncio.wait_for(all_done.wait(), 300)
        jobs = count / (time.perf_counter() - started)
    finally:
        await hm.stop()
    return {
        "jobs": count,
        "delayed_pubs_per_s": pubs,
        "starts_queued_per_s": starts,
        "jobs_done_per_s": jobs,
    }


async def latency(dsn: str, db_dsn: str) -> dict[str, Any]:
    hm = await _mesh(db_dsn)
    try:
        first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        last = first + timedelta(seconds=9)
        await hm.schedules.create(
            "beat", "sb.tick", every="1s", start_at=first, end_at=last, overlap="allow"
        )
        conn = await asyncpg.connect(db_dsn)
        try:
            deadline = time.monotonic() + 40
            while True:  # a benchmark watching real time: poll the job rows
                rows = await conn.fetch(
                    "SELECT job_id, metadata->>'sat' AS sat, metadata->>'jc' AS jc"
                    " FROM hotmesh.jobs WHERE app_id = 'sb' AND job_id LIKE 'beat:%'"
                )
                if len(rows) >= 10 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        finally:
            await conn.close()
    finally:
        await hm.stop()
    late = []
    for r in rows:
        sat = datetime.fromisoformat(r["sat"])
        made = datetime.strptime(r["jc"], "%Y%m%d%H%M%S.%f").replace(tzinfo=UTC)
        late.append((made - sat).total_seconds() * 1000)
    late.sort()
    return {
        "ticks": len(rows),
        "late_ms_p50": statistics.median(late) if late else None,
        "late_ms_max": max(late) if late else None,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    admin = await asyncpg.connect(args.dsn)
    report: dict[str, Any] = {
        "commit": harness._commit(),
        "load_before": harness._load(),
    }
    try:
        for name in ("fire", "delayed", "latency"):
            db = f"hm_bench_sched_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{db}"')
            db_dsn = harness.with_database(args.dsn, db)
            try:
                if name == "fire":
                    report[name] = await fire(db_dsn, args.schedules, args.rounds)
                elif name == "delayed":
                    report[name] = await delayed(db_dsn, args.delayed)
                else:
                    report[name] = await latency(args.dsn, db_dsn)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            print(name, json.dumps(report[name]), flush=True)
        if args.pgbench_seconds > 0:
            report["pgbench"] = await harness.run_pgbench(
                admin, args.dsn, args.pgbench_seconds
            )
            print("pgbench", json.dumps(report["pgbench"]), flush=True)
    finally:
        await admin.close()
    report["load_after"] = harness._load()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--delayed", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2, default=str))
