"""Time load + validate + compile of upstream durable/v1 (target: median < 200 ms).

Usage: ``.venv/bin/python bench/compile_bench.py [RUNS] [MANIFEST]``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from hotmesh import compiler
from hotmesh.graph import load_app

DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "shared/hotmesh-tests/tests/$setup/apps/durable/v1/hotmesh.yaml"
)


def main() -> None:
    """Print the median and best wall time of ``RUNS`` full compiles, in ms."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    source = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT
    loads: list[float] = []
    totals: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        manifest = load_app(source)  # YAML, $ref, JSON Schema
        loaded = time.perf_counter()
        compiler.compile_app(manifest)  # every semantic check, then the Plan
        done = time.perf_counter()
        loads.append((loaded - start) * 1000)
        totals.append((done - start) * 1000)
    load, total = statistics.median(loads), statistics.median(totals)
    print(
        f"{source}: load+validate+compile median {total:.1f} ms"
        f" (load {load:.1f} ms, checks+compile {total - load:.1f} ms),"
        f" best {min(totals):.1f} ms, {runs} runs; target < 200 ms"
    )


if __name__ == "__main__":
    main()
