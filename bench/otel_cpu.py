"""CPU per job with tracing off and on (issue 18), robust on a loaded machine.

    python bench/otel_cpu.py [--workloads w1,memflow_w1] [--jobs 300] [--rounds 3]
                             [--tree before=/path/to/old/checkout] [--profile DIR]

Each run is a fresh process (the global tracer provider can be set once only)
with engine, workers and client in it, as ``bench/run.py`` at ``-p 1``: a
warm-up, then ``--jobs`` jobs ``--inflight`` at a time, timed by the process's
CPU time (user + system, all threads: the batch span processor's export thread
included), which other processes' load does not inflate the way it does wall
time. ``on`` sets up the SDK as ``bench/run.py --otel`` does (every span
sampled, a batch span processor and a periodic metric reader exporting to a
sink that drops everything). Runs are interleaved (off, on, per tree, per
round) and the median per cell reported. ``--tree NAME=PATH`` adds a checkout
to compare (run with ``PYTHONPATH=PATH``): before/after in the same series.
``--profile DIR`` writes a cProfile of each run's timed phase to DIR.
``--instructions`` counts instructions (valgrind's cachegrind) instead: a
figure other processes' load does not move (CPU time on this shared machine
doubles at load 12); each run is repeated with a sixth of the jobs and taken
off, start-up with it, and the CPU columns read millions of instructions per
job. It is slow (about 50 times), so use few rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: off; on (traces and metrics); the SDK for traces only, or metrics only;
#: on with one job in ten traced (the SDK's ``TraceIdRatioBased`` sampler);
#: on with the SDK's exemplar filter off (``OTEL_METRICS_EXEMPLAR_FILTER``)
MODES = ("off", "on", "traces", "metrics", "sampled", "noexemplars")


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _time_hooks() -> dict[str, float]:
    """Time (this thread's CPU) spent in hotmesh's telemetry entry points: the
    SDK's work for spans and measures included, what the engine and workers
    around them do not."""
    from hotmesh import telemetry
    from hotmesh.telemetry import meters

    spent: dict[str, float] = {}

    def timed(module: Any, name: str) -> None:
        inner = getattr(module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.thread_time() - began

        setattr(module, name, call)

    class Timed:  # a worker span is entered and left around the callback
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __enter__(self) -> Any:
            began = time.thread_time()
            try:
                return self.inner.__enter__()
            finally:
                spent["span"] = spent.get("span", 0.0) + time.thread_time() - began

        def __exit__(self, *exc: Any) -> Any:
            began = time.thread_time()
            try:
                return self.inner.__exit__(*exc)
            finally:
                spent["span"] = spent.get("span", 0.0) + time.thread_time() - began

    for name in ("committed", "start_job", "opened", "job_done"):
        timed(telemetry, name)
    for name in ("add", "record"):
        timed(meters, name)
    timed(telemetry, "worker_span")
    made = telemetry.worker_span
    telemetry.worker_span = lambda *a: Timed(made(*a))  # type: ignore[assignment]
    return spent


async def _child(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import run as harness  # bench/run.py: the workloads and the SDK set-up

    if args.mode == "noexemplars":  # read by the SDK's MeterProvider
        os.environ["OTEL_METRICS_EXEMPLAR_FILTER"] = "always_off"
    if args.mode != "off":
        ratio = 0.1 if args.mode == "sampled" else 1.0
        harness._otel_sdk(args.mode != "metrics", args.mode != "traces", ratio)
    hooks = _time_hooks()
    workload = harness.WORKLOADS[args.child]
    runner = await workload.start(args.dsn, True)
    run_id = uuid.uuid4().int % 10**9 * 10**4
    try:
        for i in range(args.warmup):
            await runner.run(run_id + i)
        sem = asyncio.Semaphore(args.inflight)
        failed = 0

        async def one(i: int) -> None:
            nonlocal failed
            async with sem:
                if not await runner.run(run_id + args.warmup + i):
                    failed += 1

        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile(time.process_time)
            profile.enable()
        gc_spent = [0.0, 0.0]  # the garbage collector's time, in this thread

        def timed(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                gc_spent[1] = time.thread_time()
            else:
                gc_spent[0] += time.thread_time() - gc_spent[1]

        gc.callbacks.append(timed)
        hooks.clear()
        cpu0, wall0 = _cpu(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(args.jobs)))
        cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
        gc.callbacks.remove(timed)
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
    finally:
        await runner.stop()
    import hotmesh

    return {
        "cpu_ms_per_job": cpu * 1000 / args.jobs,
        "jobs_per_s": args.jobs / wall,
        "gc_ms_per_job": gc_spent[0] * 1000 / args.jobs,
        "hooks_ms_per_job": sum(hooks.values()) * 1000 / args.jobs,
        "failed": failed,
        "hotmesh": str(Path(hotmesh.__file__).parent),
    }


async def _prepare(dsn: str, names: list[str]) -> dict[str, str]:
    sys.path.insert(0, str(HERE))
    import run as harness

    admin = await asyncpg.connect(dsn)
    made: dict[str, str] = {}
    try:
        for name in names:
            db = f"hm_bench_otel_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{db}"')
            made[name] = harness.with_database(dsn, db)
            await harness.WORKLOADS[name].prepare(made[name])
    finally:
        await admin.close()
    return made


async def _drop(dsn: str, made: dict[str, str]) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        for db_dsn in made.values():
            db = db_dsn.rsplit("/", 1)[1]
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await admin.close()


def _run_child(
    args: argparse.Namespace, argv: list[str], env: dict[str, str], what: str
) -> tuple[dict[str, Any], int]:
    """Run one child: its result, and the instructions valgrind counted (0
    without ``--instructions``)."""
    if args.instructions:
        argv = [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            *argv,
        ]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{what} failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    return result, int(found.group(1).replace(",", "")) if found else 0


def _spawn(
    args: argparse.Namespace, name: str, dsn: str, tree: Path, mode: str, prof: str
) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", name, "--mode", mode, "--dsn", dsn]
    argv += ["--inflight", str(args.inflight), "--warmup", str(args.warmup)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    what = f"{name} {mode} in {tree}"
    main = [*argv, "--jobs", str(args.jobs)] + (["--profile", prof] if prof else [])
    result, count = _run_child(args, main, env, what)
    if args.instructions:
        # instructions per job: a run of fewer jobs taken off, start-up with it
        few = max(1, args.jobs // 6)
        _, less = _run_child(args, [*argv, "--jobs", str(few)], env, what)
        # reported in the CPU column: millions of instructions per job
        result["cpu_ms_per_job"] = (count - less) / (args.jobs - few) / 1e6
    return result


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(args: argparse.Namespace) -> None:
    trees = {"this": ROOT}
    for spec in args.tree:
        label, _, path = spec.partition("=")
        trees[label] = Path(path).resolve()
    names = args.workloads.split(",")
    made = asyncio.run(_prepare(args.dsn, names))
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    load0 = _load()
    unit = "M instructions" if args.instructions else "ms CPU"
    try:
        for rnd in range(args.rounds):
            for name in names:
                for label, tree in trees.items():
                    for mode in args.modes:
                        prof = ""
                        if args.profile:
                            args.profile.mkdir(parents=True, exist_ok=True)
                            prof = str(
                                args.profile / f"{name}-{label}-{mode}-{rnd}.prof"
                            )
                        got = _spawn(args, name, made[name], tree, mode, prof)
                        cells.setdefault((name, label, mode), []).append(got)
                        print(
                            f"round {rnd} {name} {label} {mode}: "
                            f"{got['cpu_ms_per_job']:.2f} {unit}/job, "
                            f"{got['gc_ms_per_job']:.2f} of it collecting garbage, "
                            f"{got['hooks_ms_per_job']:.2f} in telemetry hooks, "
                            f"{got['jobs_per_s']:.0f} jobs/s ({got['hotmesh']})",
                            file=sys.stderr,
                        )
    finally:
        asyncio.run(_drop(args.dsn, made))
    print(f"load average {load0} before / {_load()} after; medians of {args.rounds}")
    print(
        "overhead: the median of each round's on/off ratio (a round's runs are "
        "next to each other in time, so they share the load); hooks: CPU in "
        "hotmesh's telemetry entry points, the SDK's work included"
    )
    others = [m for m in args.modes if m != "off"]
    head = "| workload | tree | off: CPU ms/job |" + "".join(
        f" {m}: CPU ms/job | {m}: overhead | {m}: hooks ms/job |" for m in others
    )
    print(head)
    print("|---" * (3 + 3 * len(others)) + "|")
    for name in names:
        for label in trees:
            runs = {
                m: [r["cpu_ms_per_job"] for r in cells[(name, label, m)]]
                for m in args.modes
            }
            row = f"| {name} | {label} | {_cell(runs.get('off'))} |"
            for m in others:
                paired = [
                    b / a - 1
                    for a, b in zip(runs.get("off", []), runs[m], strict=False)
                ]
                share = f"{statistics.median(paired) * 100:+.0f} %" if paired else "-"
                hooks = [r["hooks_ms_per_job"] for r in cells[(name, label, m)]]
                row += f" {_cell(runs[m])} | {share} | {statistics.median(hooks):.2f} |"
            print(row)


def _cell(runs: list[float] | None) -> str:
    """The median, and each run in brackets."""
    if not runs:
        return "-"
    return f"{statistics.median(runs):.2f} ({', '.join(f'{r:.2f}' for r in runs)})"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dsn", default=os.environ.get("HOTMESH_BENCH_DSN", DEFAULT_DSN)
    )
    parser.add_argument("--workloads", default="w1,memflow_w1")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--inflight", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--modes",
        default="off,on",
        type=lambda text: text.split(","),
        help="of off, on, traces (the tracer provider only), metrics (the meter "
        "provider only), sampled (on, one job in ten traced), noexemplars (on, "
        "OTEL_METRICS_EXEMPLAR_FILTER=always_off)",
    )
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--profile", type=Path, metavar="DIR")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions with valgrind instead of timing CPU (a figure "
        "a loaded machine does not move; each run also at --jobs/6, taken off): "
        "the CPU columns are then millions of instructions per job",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    ARGS = parse()
    if ARGS.child:
        if ARGS.profile:
            ARGS.profile = str(ARGS.profile)
        print(json.dumps(asyncio.run(_child(ARGS))))
    else:
        main(ARGS)
