"""The hotmesh benchmark harness (issue 8): W1, W2, W3 and MemFlow W1 side by side.

    python bench/run.py [--dsn DSN] [--processes N] [--jobs 500] [--inflight 50]
                        [--quick] [--out bench/results]

Each workload runs in its own scratch database (``hm_bench_*``, dropped after)
and its own spawned client process. With ``--processes 1`` (the default) the
engine, the workers and the client share that process; with ``--processes N``
(N > 1) N spawned node processes run engine + workers and the client process
only publishes (its HotMesh still runs trigger steps, as every ``pub`` does).

Per workload, in three phases separated by stopping every HotMesh (so every
backend of the scratch database exits and flushes its statistics):

1. *alone*: ``--warmup`` (20) jobs, then ``--alone`` (100) jobs one after another;
2. *empty*: start and stop everything with no job (the fixed cost of a run);
3. *load*: ``--jobs`` jobs (W2: a fifth) with ``--inflight`` in flight.

Transactions, rows and WAL per job are (load - empty) / jobs, read from the
scratch database only: ``pg_stat_database.xact_commit`` and
``pg_stat_user_tables`` (schema ``hotmesh``) read once every backend of the
database is gone (a backend flushes its counters when it exits, PG15 buffers
them otherwise), the harness' own stats reads excluded; WAL from
``pg_walinspect``, counting only the records that touch the scratch database
and the records of their transactions (other sessions on the server write WAL
too; the raw ``pg_current_wal_flush_lsn()`` difference is reported beside it).

Writes ``<out>/bench-<utc>.json`` and ``.md`` (and ``latest.json``/``latest.md``)
and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
import types
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

HERE = Path(__file__).resolve().parent
GRAPHS = HERE / "graphs"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
JOB_TIMEOUT = 60.0
PHASE_TIMEOUT = 600.0

# The harness' own SQL: statistics reads, not hotmesh's store.
SQL_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
SQL_XACT = "SELECT xact_commit FROM pg_stat_database WHERE datname = $1"
SQL_ROWS = (
    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
    "WHERE schemaname = 'hotmesh'"
)
SQL_AUTOVACUUMED = (
    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'hotmesh' "
    "AND (last_autovacuum IS NOT NULL OR last_autoanalyze IS NOT NULL)"
)
SQL_WAL_OURS = """
WITH r AS (
  SELECT xid::text AS xid, record_length, block_ref, resource_manager, record_type
  FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
), ours AS (
  SELECT DISTINCT xid FROM r WHERE block_ref ~ $3 AND xid <> '0'
)
SELECT coalesce(sum(record_length), 0)::bigint AS bytes,
       count(*) FILTER (
         WHERE resource_manager = 'Transaction' AND record_type LIKE 'COMMIT%'
       ) AS commits
FROM r
WHERE block_ref ~ $3 OR xid IN (SELECT xid FROM ours)
"""


# What the scratch database's backends wait on, and the locks that would not
# let throughput grow with cores: the global NOTIFY lock (PreCommit_Notify in
# async.c takes an AccessExclusive lock on database 0 of pg_database and holds
# it through the commit), flow limits' advisory gates, and any lock waited for.
SQL_WAITS = """
SELECT (SELECT coalesce(json_agg(json_build_array(
                    a.state, a.wait_event_type, a.wait_event,
                    CASE WHEN a.wait_event_type = 'Lock' THEN left(a.query, 48) END)), '[]')
          FROM pg_stat_activity a
         WHERE a.datname = $1 AND a.backend_type = 'client backend'
           AND a.pid <> $2) AS backends,
       (SELECT coalesce(json_agg(json_build_array(
                    CASE WHEN l.locktype = 'object' AND l.database = 0
                              AND l.classid = 'pg_database'::regclass AND l.objid = 0
                         THEN 'notify' ELSE l.locktype END, l.granted)), '[]')
          FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE a.datname = $1 AND a.pid <> $2
           AND (NOT l.granted OR l.locktype = 'advisory'
                OR (l.locktype = 'object' AND l.database = 0
                    AND l.classid = 'pg_database'::regclass AND l.objid = 0))) AS locks
"""


#: hotmesh's NOTIFY channel in the default schema
CHANNEL = "hotmesh_hotmesh"


class WaitSampler:
    """Samples ``SQL_WAITS`` every ``interval`` seconds until ``stop()``.

    Each sample is a snapshot of every backend of the database (``state``,
    ``wait_event_type:wait_event``; ``CPU`` for an active backend waiting on
    nothing, which includes waiting for a core) and of the locks above. The
    reads take the lock manager's partition locks and a core's share on this
    machine: the figures of a run with ``--waits`` are its own, not those of a
    run without.

    It also LISTENs on hotmesh's channel in the scratch database (``db_dsn``)
    and counts the NOTIFYs by kind (``m|<stream>``, ``d``...). That listener
    reads each NOTIFY in a transaction of the scratch database, as every
    listening process does: with ``--waits``, ``xact_per_job`` counts them too.
    """

    def __init__(self, dsn: str, db: str, db_dsn: str, interval: float) -> None:
        self.dsn, self.db, self.db_dsn, self.interval = dsn, db, db_dsn, interval
        self.notifies: dict[str, int] = {}
        self._listener: asyncpg.Connection | None = None
        self.events: dict[str, int] = {}
        self.locks: dict[str, int] = {}
        self.lock_queries: dict[str, int] = {}
        self.samples = 0
        self.backends = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._listener = await asyncpg.connect(self.db_dsn)
        await self._listener.add_listener(CHANNEL, self._heard)
        conn = await asyncpg.connect(self.dsn)
        self._task = asyncio.create_task(self._run(conn))

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        parts = payload.split("|")
        kind = f"m|{parts[2]}" if parts[0] == "m" and len(parts) > 2 else parts[0]
        self.notifies[kind] = self.notifies.get(kind, 0) + 1

    async def _run(self, conn: asyncpg.Connection) -> None:
        try:
            while not self._stop.is_set():
                t0 = time.monotonic()
                assert self._listener is not None
                row = await conn.fetchrow(
                    SQL_WAITS, self.db, self._listener.get_server_pid()
                )
                assert row is not None  # an aggregate: always one row
                self._add(json.loads(row["backends"]), json.loads(row["locks"]))
                left = self.interval - (time.monotonic() - t0)
                try:  # a sampling period, not a wait for work
                    await asyncio.wait_for(self._stop.wait(), max(left, 0.0))
                except TimeoutError:
                    pass
        finally:
            await conn.close()

    def _add(self, backends: list[list[Any]], locks: list[list[Any]]) -> None:
        self.samples += 1
        self.backends += len(backends)
        for state, kind, event, query in backends:
            what = f"{kind}:{event}" if kind else "CPU"
            key = f"{state} {what}"
            self.events[key] = self.events.get(key, 0) + 1
            if query:
                self.lock_queries[query] = self.lock_queries.get(query, 0) + 1
        for kind, granted in locks:
            key = f"{kind} {'held' if granted else 'waited'}"
            self.locks[key] = self.locks.get(key, 0) + 1

    async def stop(self, jobs: int) -> dict[str, Any]:
        """Stop sampling; per backend state and event, the mean number of
        backends in it (summed over them: ``backends_mean``); per lock kind,
        the mean number held or waited for (a held ``notify`` at 0.3: the
        global NOTIFY lock was held in 30 % of the samples); NOTIFYs per job."""
        self._stop.set()
        if self._task is not None:
            await self._task
        if self._listener is not None:
            await self._listener.close()
        n = max(self.samples, 1)

        def means(counts: dict[str, int]) -> dict[str, float]:
            return {
                k: round(v / n, 4)
                for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
            }

        return {
            "interval_ms": self.interval * 1000,
            "samples": self.samples,
            "backends_mean": round(self.backends / n, 3),
            "events": means(self.events),
            "locks": means(self.locks),
            "lock_wait_queries": means(self.lock_queries),
            "notifies_per_job": {
                k: round(v / jobs, 3) for k, v in sorted(self.notifies.items())
            },
        }


# -- workloads ---------------------------------------------------------------------
class Runner:
    """A started workload in one process: ``run(i)`` one job, ``stop()`` everything."""

    async def run(self, i: int) -> bool:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError


class MeshRunner(Runner):
    """A YAML workload on one HotMesh."""

    def __init__(self, hm: Any, workload: YamlWorkload) -> None:
        self.hm, self.workload = hm, workload

    async def run(self, i: int) -> bool:
        out = await self.hm.pubsub(
            self.workload.topic, self.workload.data(i), timeout=JOB_TIMEOUT
        )
        return self.workload.check(i, out["data"])

    async def stop(self) -> None:
        await self.hm.stop()


class YamlWorkload:
    """A graph under bench/graphs, its workers, its inputs and the check of its output."""

    def __init__(
        self,
        name: str,
        title: str,
        app_id: str,
        topic: str,
        workers: dict[str, Callable[[dict[str, Any]], Any]],
        data: Callable[[int], dict[str, Any]],
        check: Callable[[int, dict[str, Any]], bool],
        divisor: int = 1,
        graph: str | None = None,
        inline: bool = False,
    ) -> None:
        self.name, self.title, self.app_id, self.topic = name, title, app_id, topic
        self.workers, self.data, self.check, self.divisor = (
            workers,
            data,
            check,
            divisor,
        )
        self.graph = GRAPHS / f"{graph or name}.yaml"
        #: workers registered ``inline: True`` (engine/inline.py)
        self.inline = inline

    def available(self) -> str | None:
        return None

    async def prepare(self, dsn: str) -> None:
        """Migrate the scratch database, deploy and activate the graph."""
        from hotmesh import HotMesh

        hm = await HotMesh.init(app_id=self.app_id, engine={"connection": {"dsn": dsn}})
        try:
            await hm.deploy(self.graph)
            await hm.activate("1")
        finally:
            await hm.stop()

    async def start(self, dsn: str, with_workers: bool) -> Runner:
        from hotmesh import HotMesh

        workers = [
            {"topic": topic, "callback": callback, "inline": self.inline}
            for topic, callback in self.workers.items()
        ]
        hm = await HotMesh.init(
            app_id=self.app_id,
            engine={**_engine_options(), "connection": {"dsn": dsn}},
            workers=workers if with_workers else [],
        )
        return MeshRunner(hm, self)


async def _w1_a(m: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"a": m["data"]["n"] + 1}}


async def _w1_b(m: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"b": m["data"]["a"] * 2}}


async def _w2_branch(m: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"r": m["data"]["n"] * 10 + m["data"]["k"]}}


async def _w3_check(m: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"available": 10 if m["data"]["itemId"] == "stocked" else 2}}


async def _w3_reserve(m: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"reservationId": f"res-{m['data']['orderId']}"}}


async def _w3_backorder(m: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"notified": m["data"]["missing"] > 0}}


def _w1_check(i: int, d: dict[str, Any]) -> bool:
    """W1's output for input ``n = i``: a = n + 1, b = a * 2."""
    return bool(d.get("a") == i + 1 and d.get("b") == (i + 1) * 2)


def _w3_data(i: int) -> dict[str, Any]:
    # even orders find 10 in stock, odd ones 2: half reserve, half back-order
    item = "stocked" if i % 2 == 0 else "scarce"
    return {"orderId": f"o{i}", "itemId": item, "requestedQty": 5}


def _w3_check_out(i: int, d: dict[str, Any]) -> bool:
    if i % 2 == 0:
        return d.get("status") == "reserved" and d.get("reservationId") == f"res-o{i}"
    return d.get("status") == "backordered" and d.get("available") == 2


# -- MemFlow W1 (issue 6 API; measured only when `from hotmesh import MemFlow` works)
async def mf_add_one(n: int) -> int:
    return n + 1


async def mf_double(a: int) -> int:
    return a * 2


MF_ACTIVITIES = types.ModuleType("bench_w1_activities")
MF_ACTIVITIES.add_one = mf_add_one  # type: ignore[attr-defined]
MF_ACTIVITIES.double = mf_double  # type: ignore[attr-defined]
MF_ACTS_QUEUE = "bench-w1-activities"
MF_QUEUE = "bench-w1"


async def bench_w1_workflow(n: int) -> int:
    """MemFlow W1: the same two activities as a code workflow."""
    from hotmesh import MemFlow

    acts = MemFlow.workflow.proxy_activities(
        activities=MF_ACTIVITIES, task_queue=MF_ACTS_QUEUE
    )
    a = await acts.add_one(n)
    return int(await acts.double(a))


class MemFlowRunner(Runner):
    """MemFlow W1 through a ``MemFlow.Client``: one workflow per job."""

    def __init__(self, client: Any, run_id: str) -> None:
        self.client, self.run_id = client, run_id

    async def run(self, i: int) -> bool:
        handle = await self.client.workflow.start(
            args=[i],
            task_queue=MF_QUEUE,
            workflow_name="bench_w1_workflow",
            workflow_id=f"w1-{self.run_id}-{i}",
        )
        return bool(await handle.result() == (i + 1) * 2)

    async def stop(self) -> None:
        from hotmesh import HotMesh, MemFlow

        await MemFlow.shutdown()
        await HotMesh.stop_all()  # anything MemFlow's shutdown left running


class MemFlowWorkload:
    """MemFlow W1: the workflow worker and the activity worker of one process."""

    name = "memflow_w1"
    title = "MemFlow W1 (2 activities)"
    divisor = 1

    def available(self) -> str | None:
        try:
            from hotmesh import MemFlow  # noqa: F401
        except ImportError:
            return "not available (`from hotmesh import MemFlow` fails)"
        return None

    async def prepare(self, dsn: str) -> None:
        """Migrate and deploy MemFlow's graph once, before processes race to do it."""
        from hotmesh import MemFlow

        await MemFlow.Client({"connection": {"dsn": dsn}}).mesh()
        await MemFlow.shutdown()

    async def start(self, dsn: str, with_workers: bool) -> Runner:
        from hotmesh import MemFlow

        connection = {"dsn": dsn, "options": _engine_options()}
        if with_workers:
            await MemFlow.register_activity_worker(
                {"connection": connection, "task_queue": MF_ACTS_QUEUE}, MF_ACTIVITIES
            )
            await MemFlow.Worker.create(
                {
                    "connection": connection,
                    "task_queue": MF_QUEUE,
                    "workflow": bench_w1_workflow,
                }
            )
        return MemFlowRunner(MemFlow.Client({"connection": connection}), _short_id())


def _engine_options() -> dict[str, Any]:
    """``--engine``'s options, read from the environment by every spawned process."""
    text = os.environ.get("HOTMESH_BENCH_ENGINE")
    return dict(json.loads(text)) if text else {}


def _short_id() -> str:
    return uuid.uuid4().hex[:10]


WORKLOADS: dict[str, YamlWorkload | MemFlowWorkload] = {
    "w1": YamlWorkload(
        "w1",
        "W1 sequence",
        "bw1",
        "bw1.start",
        {"bw1.a": _w1_a, "bw1.b": _w1_b},
        lambda i: {"n": i},
        _w1_check,
    ),
    "w1_inline": YamlWorkload(
        "w1_inline",
        "W1, inline workers",
        "bw1",
        "bw1.start",
        {"bw1.a": _w1_a, "bw1.b": _w1_b},
        lambda i: {"n": i},
        _w1_check,
        graph="w1",
        inline=True,
    ),
    "w1_limited": YamlWorkload(
        "w1_limited",
        "W1, topic limit never reached",
        "bw1l",
        "bw1l.start",
        {"bw1.a": _w1_a, "bw1.b": _w1_b},
        lambda i: {"n": i},
        _w1_check,
    ),
    "w1_keyed": YamlWorkload(
        "w1_keyed",
        "W1, key limit never reached",
        "bw1k",
        "bw1k.start",
        {"bw1.a": _w1_a, "bw1.b": _w1_b},
        lambda i: {"n": i},
        _w1_check,
    ),
    "w2": YamlWorkload(
        "w2",
        "W2 fan-out (10)",
        "bw2",
        "bw2.start",
        {"bw2.branch": _w2_branch},
        lambda i: {"n": i},
        lambda i, d: all(d.get(f"r{k}") == i * 10 + k for k in range(10)),
        divisor=5,
    ),
    "w3": YamlWorkload(
        "w3",
        "W3 order",
        "bw3",
        "bw3.order",
        {
            "bw3.check": _w3_check,
            "bw3.reserve": _w3_reserve,
            "bw3.backorder": _w3_backorder,
        },
        _w3_data,
        _w3_check_out,
    ),
    "memflow_w1": MemFlowWorkload(),
}


# -- child processes -----------------------------------------------------------------
def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _phase(
    name: str,
    dsn: str,
    phase: str,
    with_workers: bool,
    jobs: int,
    inflight: int,
    warmup: int,
) -> dict[str, Any]:
    workload = WORKLOADS[name]
    runner = await workload.start(dsn, with_workers)
    latencies: list[float] = []
    errors: list[str] = []
    base = {"alone": 0, "empty": 10**6, "load": 2 * 10**6}[phase]

    async def one(i: int) -> None:
        t0 = time.perf_counter()
        try:
            ok = await runner.run(base + i)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        latencies.append((time.perf_counter() - t0) * 1000)
        if not ok:
            errors.append(f"job {base + i}: wrong output")

    t0 = time.perf_counter()
    cpu: dict[str, float] = {}
    try:
        if phase == "alone":
            for i in range(warmup):
                await one(i)
            latencies.clear()
            t0 = time.perf_counter()
            for i in range(warmup, warmup + jobs):
                await one(i)
        elif phase == "load":
            sem = asyncio.Semaphore(inflight)

            async def bounded(i: int) -> None:
                async with sem:
                    await one(i)

            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            await asyncio.gather(*(bounded(i) for i in range(jobs)))
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = {
                "user_ms_per_job": (cpu1.ru_utime - cpu0.ru_utime) * 1000 / jobs,
                "sys_ms_per_job": (cpu1.ru_stime - cpu0.ru_stime) * 1000 / jobs,
                "involuntary_switches_per_job": (cpu1.ru_nivcsw - cpu0.ru_nivcsw)
                / jobs,
            }
        elapsed = time.perf_counter() - t0
    finally:
        await runner.stop()
    return {
        "latencies_ms": latencies,
        "elapsed_s": elapsed,
        "cpu": cpu,
        "errors": len(errors),
        "error_samples": errors[:3],
    }


def _loop_policy() -> None:
    """``--uvloop``: the spawned processes run on uvloop's event loop.
    ``--otel``: they trace and measure through the OpenTelemetry SDK."""
    if os.environ.get("HOTMESH_BENCH_UVLOOP") == "1":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if os.environ.get("HOTMESH_BENCH_OTEL") == "1":
        _otel_sdk()


def _otel_sdk(traces: bool = True, measures: bool = True, ratio: float = 1.0) -> None:
    """The OpenTelemetry SDK as an application would set it up: every span
    sampled, a batch span processor and a periodic metric reader, both
    exporting to a sink that drops everything (the cost measured is the
    SDK's and hotmesh's, not an exporter's network). ``traces``/``measures``
    False: that half left unset (``bench/otel_cpu.py`` splits the cost);
    ``ratio`` < 1: that share of the jobs traced (``TraceIdRatioBased``)."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Spans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class Measures(MetricExporter):
        def export(self, data: Any, timeout_millis: float = 0, **kw: Any) -> Any:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 0) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 0, **kw: Any) -> None:
            pass

    if traces:
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)))
        provider.add_span_processor(BatchSpanProcessor(Spans()))
        trace.set_tracer_provider(provider)
    if measures:
        reader = PeriodicExportingMetricReader(
            Measures(), export_interval_millis=10_000
        )
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))


def client_main(conn: Connection, name: str, dsn: str, with_workers: bool) -> None:
    """Spawned client: run each phase it is sent, in a fresh event loop."""
    _loop_policy()
    while True:
        msg = conn.recv()
        if msg[0] == "exit":
            conn.send(("rss", _maxrss_mb()))
            return
        try:
            _, phase, jobs, inflight, warmup = msg
            result = asyncio.run(
                _phase(name, dsn, phase, with_workers, jobs, inflight, warmup)
            )
            conn.send(("ok", result))
        except BaseException:
            conn.send(("error", traceback.format_exc()))


async def _serve(conn: Connection, name: str, dsn: str) -> None:
    runner = await WORKLOADS[name].start(dsn, True)
    conn.send(("ready",))
    await asyncio.to_thread(conn.recv)  # ("stop",)
    await runner.stop()


def node_main(conn: Connection, name: str, dsn: str) -> None:
    """Spawned node: engine + workers from each ``start`` until ``stop``."""
    _loop_policy()
    while True:
        msg = conn.recv()
        if msg[0] == "exit":
            conn.send(("rss", _maxrss_mb()))
            return
        try:
            asyncio.run(_serve(conn, name, dsn))
            conn.send(("stopped",))
        except BaseException:
            conn.send(("error", traceback.format_exc()))


class Child:
    """One spawned process and its end of the pipe."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(theirs, *args), daemon=True)
        self.proc.start()
        theirs.close()

    def send(self, *msg: Any) -> None:
        self.conn.send(msg)

    async def recv(self, timeout: float = PHASE_TIMEOUT) -> Any:
        if not await asyncio.to_thread(self.conn.poll, timeout):
            raise TimeoutError(f"child {self.proc.pid} did not answer in {timeout}s")
        msg = self.conn.recv()
        if msg[0] == "error":
            raise RuntimeError(f"child {self.proc.pid} failed:\n{msg[1]}")
        return msg

    async def close(self) -> float | None:
        """Ask the process to exit; its peak RSS in MB (None if it had to be killed)."""
        rss = None
        if self.proc.is_alive():
            try:
                self.send("exit")
                rss = (await self.recv(30))[1]
            except (OSError, TimeoutError, RuntimeError, EOFError):
                pass
        await asyncio.to_thread(self.proc.join, 10)
        if self.proc.is_alive():
            self.proc.kill()
            await asyncio.to_thread(self.proc.join, 10)
        return rss


async def start_pyspy(child: Child, out: Path) -> subprocess.Popen[bytes]:
    """Record ``child`` with py-spy (raw collapsed stacks) until ``stop_pyspy``."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [
            exe,
            "record",
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(out),
            "--pid",
            str(child.proc.pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # py-spy gives no sign of having attached when its output is not a terminal;
    # a second is ample, and only the profile (not a figure) would miss the start
    await asyncio.sleep(1.0)
    return spy


async def stop_pyspy(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    await asyncio.to_thread(spy.wait, 30)


# -- statistics of the scratch database -----------------------------------------------
def _lsn(text: str) -> int:
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


class Snapshot:
    def __init__(self, lsn: str, xact: int, xact_after: int, rows: dict[str, int]):
        self.lsn, self.xact, self.xact_after, self.rows = lsn, xact, xact_after, rows


async def _settle(admin: asyncpg.Connection, db: str, timeout: float = 30.0) -> None:
    """Wait until no backend is connected to ``db``: every counter is then flushed.

    A backend flushes its pending statistics in a before-shmem-exit hook, which
    runs before it leaves pg_stat_activity.
    """
    deadline = time.monotonic() + timeout
    while await admin.fetchval(SQL_BACKENDS, db):
        if time.monotonic() > deadline:
            print(f"warning: backends still on {db} after {timeout}s", file=sys.stderr)
            return
        await asyncio.sleep(0.01)  # polling the server's view: no event to wait on


async def _xact(admin: asyncpg.Connection, db: str) -> int:
    await admin.execute("SELECT pg_stat_clear_snapshot()")
    return int(await admin.fetchval(SQL_XACT, db))


async def snapshot(admin: asyncpg.Connection, db: str, db_dsn: str) -> Snapshot:
    """Counters of ``db`` with no backend on it; our own reads are in neither delta."""
    await _settle(admin, db)
    # The flushed end, not the written one: pg_walinspect refuses an end past
    # the flush ("cannot accept future end LSN"), and the scratch database's
    # commits are flushed before they return anyway.
    lsn = await admin.fetchval("SELECT pg_current_wal_flush_lsn()::text")
    xact = await _xact(admin, db)
    conn = await asyncpg.connect(db_dsn)  # pg_stat_user_tables is per database
    try:
        rows = {
            r["relname"]: r["n_tup_ins"] + r["n_tup_upd"] + r["n_tup_del"]
            for r in await conn.fetch(SQL_ROWS)
        }
    finally:
        await conn.close()
    await _settle(admin, db)  # our read's transactions land before the next delta
    return Snapshot(lsn, xact, await _xact(admin, db), rows)


def _rows(a: Snapshot, b: Snapshot) -> dict[str, int]:
    return {t: b.rows.get(t, 0) - a.rows.get(t, 0) for t in b.rows}


# -- one workload ---------------------------------------------------------------------
def with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path="/" + database))


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run_workload(
    admin: asyncpg.Connection, dsn: str, name: str, args: argparse.Namespace
) -> dict[str, Any]:
    workload = WORKLOADS[name]
    missing = workload.available()
    if missing:
        return {"title": workload.title, "available": False, "note": missing}
    jobs = max(1, args.jobs // workload.divisor)
    db = f"hm_bench_{_short_id()}"
    db_dsn = with_database(dsn, db)
    await admin.execute(f'CREATE DATABASE "{db}"')
    children: list[Child] = []
    try:
        setup = await asyncpg.connect(db_dsn)
        try:
            oid = await setup.fetchval(
                "SELECT oid FROM pg_database WHERE datname = current_database()"
            )
            try:
                await setup.execute("CREATE EXTENSION pg_walinspect")
                walinspect = True
            except asyncpg.PostgresError:
                walinspect = False
        finally:
            await setup.close()
        await workload.prepare(db_dsn)
        slot = None
        if walinspect:
            # A temporary slot keeps the WAL of the run from being recycled by a
            # checkpoint (any DROP DATABASE on the server forces one) until it is
            # read; it vanishes with the admin session at the latest.
            try:
                await admin.execute(
                    "SELECT pg_create_physical_replication_slot($1, true, true)", db
                )
                slot = db
            except asyncpg.PostgresError:  # no free slot: report no WAL figure
                pass
        client = Child(client_main, name, db_dsn, args.processes == 1)
        children.append(client)
        nodes = [
            Child(node_main, name, db_dsn)
            for _ in range(args.processes if args.processes > 1 else 0)
        ]
        children.extend(nodes)
        phases: dict[str, dict[str, Any]] = {}
        snaps: list[Snapshot] = []
        waits: dict[str, Any] | None = None
        for phase, count in (("alone", args.alone), ("empty", 0), ("load", jobs)):
            for node in nodes:
                node.send("start")
            for node in nodes:
                await node.recv()
            spies = (
                [
                    await start_pyspy(c, args.pyspy / f"{name}-{i}.raw")
                    for i, c in enumerate(children)
                ]
                if args.pyspy and phase == "load"
                else []
            )
            sampler = (
                WaitSampler(args.dsn, db, db_dsn, args.waits_interval)
                if args.waits and phase == "load"
                else None
            )
            if sampler is not None:
                await sampler.start()
            client.send("phase", phase, count, args.inflight, args.warmup)
            phases[phase] = (await client.recv())[1]
            if sampler is not None:
                waits = await sampler.stop(max(count, 1))
            for spy in spies:
                await stop_pyspy(spy)
            for node in nodes:
                node.send("stop")
            for node in nodes:
                await node.recv()
            snaps.append(await snapshot(admin, db, db_dsn))
        rss = [await c.close() for c in children]
        s0, s1, s2 = snaps
        empty_xact = s1.xact - s0.xact_after
        load_xact = s2.xact - s1.xact_after
        empty_rows, load_rows = _rows(s0, s1), _rows(s1, s2)
        rows_by_table = {
            t: (load_rows[t] - empty_rows.get(t, 0)) / jobs for t in sorted(load_rows)
        }
        wal_ours: float | None = None
        write_xact: float | None = None
        conn = await asyncpg.connect(db_dsn)
        try:
            autovacuumed = sorted(
                r["relname"] for r in await conn.fetch(SQL_AUTOVACUUMED)
            )
            if slot is not None:
                pattern = rf"rel \d+/{oid}/"

                async def ours(start: str, end: str) -> tuple[int, int]:
                    if _lsn(end) <= _lsn(start):
                        return 0, 0  # pg_walinspect refuses an empty range
                    row = await conn.fetchrow(SQL_WAL_OURS, start, end, pattern)
                    return int(row["bytes"]), int(row["commits"])

                (load_b, load_c), (empty_b, empty_c) = (
                    await ours(s1.lsn, s2.lsn),
                    await ours(s0.lsn, s1.lsn),
                )
                wal_ours = (load_b - empty_b) / jobs
                write_xact = (load_c - empty_c) / jobs
        finally:
            await conn.close()
            if slot is not None:
                await admin.execute("SELECT pg_drop_replication_slot($1)", slot)
        load, alone = phases["load"], phases["alone"]
        lat, lat_alone = load["latencies_ms"], alone["latencies_ms"]
        return {
            "title": workload.title,
            "available": True,
            "jobs": jobs,
            "inflight": args.inflight,
            "processes": args.processes,
            "jobs_per_s": jobs / load["elapsed_s"] if load["elapsed_s"] else None,
            "elapsed_s": load["elapsed_s"],
            "p50_ms": _pct(lat, 50),
            "p95_ms": _pct(lat, 95),
            "alone_jobs": args.alone,
            "alone_p50_ms": _pct(lat_alone, 50),
            "alone_p95_ms": _pct(lat_alone, 95),
            "xact_per_job": (load_xact - empty_xact) / jobs,
            "xact_fixed_per_run": empty_xact,
            # commits that wrote WAL (had an xid): the rest of xact_commit is
            # read-only, e.g. each LISTENing backend reads every NOTIFY in a
            # transaction of its own
            "write_xact_per_job": write_xact,
            "wal_bytes_per_job": wal_ours,
            "wal_bytes_per_job_cluster": (_lsn(s2.lsn) - _lsn(s1.lsn)) / jobs,
            "rows_per_job": sum(rows_by_table.values()),
            "rows_per_job_by_table": rows_by_table,
            # the client process during the load phase (the only one at -p 1)
            "client_cpu": load["cpu"],
            # autovacuum's own transactions would count in xact/job
            "autovacuumed_tables": autovacuumed,
            "peak_rss_mb": rss[0],
            "node_peak_rss_mb": rss[1:],
            # --waits: the load phase's backends and locks, sampled
            "waits": waits,
            "errors": load["errors"] + alone["errors"],
            "error_samples": load["error_samples"] + alone["error_samples"],
        }
    finally:
        for child in children:
            if child.proc.is_alive():
                child.proc.kill()
                await asyncio.to_thread(child.proc.join, 10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# -- pgbench --------------------------------------------------------------------------
def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


async def run_pgbench(
    admin: asyncpg.Connection, dsn: str, seconds: int
) -> dict[str, Any]:
    exe = find_pgbench()
    if exe is None:
        return {"available": False, "note": "pgbench not found on PATH"}
    parts = urlsplit(dsn)
    db = f"hm_bench_pgb_{_short_id()}"
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    conn_args = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    await admin.execute(f'CREATE DATABASE "{db}"')
    result: dict[str, Any] = {"available": True, "seconds": seconds, "scale": 1}
    try:

        def pgbench(*extra: str) -> str:
            done = subprocess.run(
                [exe, *conn_args, *extra, db],
                env=env,
                capture_output=True,
                text=True,
                timeout=seconds + 120,
                check=True,
            )
            return done.stdout

        await asyncio.to_thread(pgbench, "-i", "-q", "-s", "1")
        for clients in (1, 8):
            out = await asyncio.to_thread(
                pgbench,
                "-N",
                "-T",
                str(seconds),
                "-c",
                str(clients),
                "-j",
                str(min(clients, os.cpu_count() or 1)),
            )
            match = re.search(r"tps = ([\d.]+)", out)
            result[f"tps_c{clients}"] = float(match.group(1)) if match else None
    except (subprocess.SubprocessError, OSError) as exc:
        result.update(available=False, note=f"pgbench failed: {exc}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return result


# -- report ---------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    lines = [
        f"hotmesh bench, {meta['date']}: {meta['cpus']} cores, Python "
        f"{meta['python']}, PostgreSQL {meta['postgres']}, commit {meta['commit']}, "
        f"hotmesh from {meta.get('hotmesh', '?')}, "
        f"--processes {meta['processes']}, {meta.get('loop', 'asyncio')} event loop, "
        f"OpenTelemetry {meta.get('otel', 'off')}, "
        f"engine options {json.dumps(meta.get('engine') or {})}, "
        f"load average {meta['load_before']} "
        f"before / {meta['load_after']} after",
        "",
        "| workload | jobs | jobs/s | p50 ms | p95 ms | p50 alone ms | p95 alone ms "
        "| xact/job (writing) | WAL B/job | rows/job | peak RSS MB | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in report["workloads"].values():
        if not res.get("available"):
            lines.append(f"| {res['title']} | {res['note']} |" + " |" * 10)
            continue
        rss = res["peak_rss_mb"]
        if res["node_peak_rss_mb"]:
            rss_text = f"{_fmt(rss, 0)} + {len(res['node_peak_rss_mb'])}×" + _fmt(
                max((r or 0.0) for r in res["node_peak_rss_mb"]), 0
            )
        else:
            rss_text = _fmt(rss, 0)
        lines.append(
            "| "
            + " | ".join(
                [
                    res["title"],
                    _fmt(res["jobs"]),
                    _fmt(res["jobs_per_s"], 0),
                    _fmt(res["p50_ms"]),
                    _fmt(res["p95_ms"]),
                    _fmt(res["alone_p50_ms"], 2),
                    _fmt(res["alone_p95_ms"], 2),
                    f"{_fmt(res['xact_per_job'], 2)} "
                    f"({_fmt(res['write_xact_per_job'], 2)})",
                    _fmt(res["wal_bytes_per_job"], 0),
                    _fmt(res["rows_per_job"], 1),
                    rss_text,
                    _fmt(res["errors"]),
                ]
            )
            + " |"
        )
    pgb = report["pgbench"]
    lines.append("")
    if pgb.get("available"):
        lines.append(
            f"pgbench -N (scale 1, {pgb['seconds']} s): "
            f"{_fmt(pgb.get('tps_c1'), 0)} tps with 1 client, "
            f"{_fmt(pgb.get('tps_c8'), 0)} tps with 8 clients"
        )
    else:
        lines.append(f"pgbench: {pgb.get('note', 'skipped')}")
    for res in report["workloads"].values():
        waits = res.get("waits")
        if not waits:
            continue
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(waits["events"].items())[:6])
        locks = ", ".join(f"{k} {v:.3f}" for k, v in waits["locks"].items()) or "none"
        lines.append("")
        notes = ", ".join(f"{k} {v:.2f}" for k, v in waits["notifies_per_job"].items())
        lines.append(
            f"{res['title']}, backends sampled every {waits['interval_ms']:g} ms "
            f"({waits['samples']} samples, {waits['backends_mean']:.1f} backends): "
            f"mean backends by state and wait: {top}; locks (mean held/waited): "
            f"{locks}; NOTIFYs per job: {notes or 'none'}"
        )
    return "\n".join(lines) + "\n"


def _commit() -> str:
    """HEAD's short hash, ``+dirty`` when hotmesh/ has uncommitted changes."""

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--", str(HERE.parent / "hotmesh"))
        return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def main(args: argparse.Namespace) -> dict[str, Any]:
    import hotmesh as hotmesh_module

    admin = await asyncpg.connect(args.dsn)
    try:
        names = [n.strip() for n in args.workloads.split(",") if n.strip()]
        unknown = [n for n in names if n not in WORKLOADS]
        if unknown:
            raise SystemExit(f"unknown workload(s): {', '.join(unknown)}")
        meta = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "postgres": await admin.fetchval("SHOW server_version"),
            "commit": _commit(),
            # the hotmesh the processes import (an export on PYTHONPATH: not HERE's)
            "hotmesh": str(Path(hotmesh_module.__file__).parent),
            "processes": args.processes,
            "loop": "uvloop" if args.uvloop else "asyncio",
            "otel": "sdk" if args.otel else "off",
            "engine": args.engine or {},
            "jobs": args.jobs,
            "inflight": args.inflight,
            "alone": args.alone,
            "warmup": args.warmup,
            "load_before": _load(),
        }
        report: dict[str, Any] = {"meta": meta, "workloads": {}}
        if args.pgbench_seconds > 0:
            report["pgbench"] = await run_pgbench(admin, args.dsn, args.pgbench_seconds)
        else:
            report["pgbench"] = {"available": False, "note": "skipped (--no-pgbench)"}
        for name in names:
            started = time.perf_counter()
            report["workloads"][name] = await run_workload(admin, args.dsn, name, args)
            print(
                f"{name}: done in {time.perf_counter() - started:.1f}s", file=sys.stderr
            )
        meta["load_after"] = _load()
        return report
    finally:
        await admin.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("HOTMESH_BENCH_DSN", DEFAULT_DSN),
        help="a server's maintenance database (scratch databases are created beside it)",
    )
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=500, help="load jobs (W2: a fifth)")
    parser.add_argument("--inflight", type=int, default=50)
    parser.add_argument("--alone", type=int, default=100, help="sequential jobs")
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed jobs before the sequential ones"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="pgbench 3 s instead of 10 s per run, 200 jobs, 30 alone",
    )
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument(
        "--uvloop",
        action="store_true",
        help="run every process on uvloop's event loop (pip install uvloop)",
    )
    parser.add_argument(
        "--otel",
        action="store_true",
        help="trace and measure through the OpenTelemetry SDK (batch exporter to a "
        "sink that drops everything) in every process",
    )
    parser.add_argument(
        "--engine",
        type=json.loads,
        metavar="JSON",
        help="engine options for every HotMesh and MemFlow worker of the load, "
        'e.g. \'{"group_commit": true, "pool_size": 20}\'',
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--waits",
        action="store_true",
        help="sample the wait events of the scratch database's backends and the "
        "NOTIFY, advisory and waited-for locks during the load phase",
    )
    parser.add_argument(
        "--waits-interval",
        type=float,
        default=0.01,
        metavar="S",
        help="seconds between two --waits samples (0.01)",
    )
    parser.add_argument(
        "--pyspy",
        type=Path,
        metavar="DIR",
        help="record the load phase of every process with py-spy into DIR/<workload>-<n>.raw "
        "(n=0 is the client; summarise with bench/pyspy_top.py)",
    )
    args = parser.parse_args(argv)
    if args.uvloop:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            parser.error("--uvloop needs uvloop: pip install uvloop")
        os.environ["HOTMESH_BENCH_UVLOOP"] = "1"  # read by the spawned processes
    if args.otel:
        try:
            import opentelemetry.sdk  # noqa: F401
        except ImportError:
            parser.error("--otel needs the SDK: pip install opentelemetry-sdk")
        os.environ["HOTMESH_BENCH_OTEL"] = "1"
    if args.engine is not None:
        if not isinstance(args.engine, dict):
            parser.error("--engine takes a JSON object")
        os.environ["HOTMESH_BENCH_ENGINE"] = json.dumps(args.engine)
    if min(args.processes, args.jobs, args.inflight, args.alone) < 1 or args.warmup < 0:
        parser.error("--processes, --jobs, --inflight, --alone >= 1; --warmup >= 0")
    if args.quick:
        args.jobs, args.alone = min(args.jobs, 200), min(args.alone, 30)
    args.pgbench_seconds = 0 if args.no_pgbench else (3 if args.quick else 10)
    return args


def cli(argv: list[str] | None = None) -> int:
    args = parse(argv)
    report = asyncio.run(main(args))
    table = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for stem in (f"bench-{stamp}", "latest"):
        (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / f"{stem}.md").write_text(table)
    print(table)
    print(f"written: {args.out / f'bench-{stamp}.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(cli())
