"""The sticky workflow cache (issue 21), in one process, no database.

Usage: ``python bench/sticky_cache.py [--workflows 10000] [--steps 20] [--runs 200]``

Activations are fed to ``runner.activate`` as the worker would, each job
data built from the last answer plus the activity's result marker:

- **memory**: ``--workflows`` workflows each run their first activation with
  a cache of that size, and stay suspended at their first activity; the RSS
  growth is what the cache holds (the issue asks <= 200 MB for 10,000).
- **cpu**: ``--runs`` workflows of ``--steps`` sequential activities, every
  activation run, cache off then on (interleaved): process CPU per workflow.
  Replay costs O(steps) per activation, so O(steps^2) per workflow; a cached
  run O(steps).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from typing import Any

from hotmesh import MemFlow
from hotmesh.memflow import registry, runner, sticky

NS, QUEUE = "memflow", "sticky-bench"
STEPS = {"n": 20}


async def add(x: int, y: int) -> int:
    return x + y


async def chain(seed: int) -> int:
    acts = MemFlow.workflow.proxy_activities(activities=[add])
    total = seed
    for i in range(STEPS["n"]):
        total = await acts.add(total, i)
    return total


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _message(wid: str, state: dict[str, Any]) -> dict[str, Any]:
    data = {
        "workflowId": wid,
        "workflowName": "chain",
        "taskQueue": QUEUE,
        "arguments": [1],
        "generation": 0,
        "state": state,
    }
    return {"metadata": {}, "data": data}


async def _run(wid: str, cache: sticky.Cache | None) -> Any:
    """Every activation of one workflow, as the engine would feed them."""
    state: dict[str, Any] = {"workflowId": wid, "args": [1], "generation": 0}
    while True:
        answer = await runner.activate(NS, _message(wid, state), cache=cache)
        data = answer["data"]
        if answer["code"] == runner.DONE:
            return data["response"]
        state = {**state, **data.get("markers", {})}
        x, y = data["input"]["args"]
        state[data["marker"]] = {"data": x + y, "name": "add"}


async def memory(n: int) -> dict[str, Any]:
    cache = sticky.Cache(n)
    gc.collect()
    before = _rss_mb()
    for i in range(n):
        answer = await runner.activate(
            NS, _message(f"m{i}", {"args": [1], "generation": 0}), cache=cache
        )
        assert answer["code"] == runner.PROXY
    gc.collect()
    after = _rss_mb()
    kept = len(cache)
    for entry in cache.drain():
        await runner.unwind(entry.ctx, entry.task)
    return {
        "workflows_cached": kept,
        "rss_growth_mb": round(after - before, 1),
        "kb_per_workflow": round((after - before) * 1024 / max(kept, 1), 2),
    }


async def cpu(steps: int, runs: int) -> dict[str, Any]:
    STEPS["n"] = steps
    spent = {"off": 0.0, "on": 0.0}
    results: dict[str, set[Any]] = {"off": set(), "on": set()}
    cache = sticky.Cache(runs)
    for i in range(runs):
        for mode in ("off", "on") if i % 2 == 0 else ("on", "off"):
            t0 = time.process_time()
            result = await _run(f"{mode}{i}", cache if mode == "on" else None)
            spent[mode] += time.process_time() - t0
            results[mode].add(result)
    assert results["on"] == results["off"], results
    return {
        "steps": steps,
        "workflows": runs,
        "cpu_ms_per_workflow_off": round(spent["off"] * 1000 / runs, 3),
        "cpu_ms_per_workflow_on": round(spent["on"] * 1000 / runs, 3),
        "cache_hits": cache.hits,
        "cache_misses": cache.misses,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    registry.add_workflow(NS, QUEUE, chain)
    out = {"cpu": [await cpu(s, args.runs) for s in (2, args.steps)]}
    STEPS["n"] = 2
    out["memory"] = await memory(args.workflows)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
