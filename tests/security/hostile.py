"""A healthy workload measured while an attack runs (issue 20: "a second, healthy
job whose latency is measured while the attack runs").

Latencies are reported (``-s`` prints them), never asserted tightly: speed is
measured in ``bench/``; the tests assert that the healthy jobs complete.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Healthy:
    """Run ``one(i)`` again and again, one at a time, until ``stop()``."""

    one: Callable[[int], Awaitable[None]]
    latencies: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False

    def start(self) -> Healthy:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        i = 0
        while not self._stopping:
            began = time.perf_counter()
            await self.one(i)
            self.latencies.append(time.perf_counter() - began)
            i += 1

    async def stop(self, what: str, at_least: int = 1) -> list[float]:
        """Stop after the current job (and at least ``at_least`` jobs); print
        the latencies; a failed healthy job fails the test here."""
        while len(self.latencies) < at_least and self._task and not self._task.done():
            await asyncio.wait({self._task}, timeout=0.05)
        self._stopping = True
        assert self._task is not None
        await asyncio.wait_for(self._task, 60)
        print(f"\n{what}: {summary(self.latencies)}")
        return self.latencies


def p99(values: list[float]) -> float:
    """The 99th percentile (the largest value below 100 samples)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def summary(values: list[float], what: str = "healthy jobs") -> str:
    if not values:
        return "no samples"
    return (
        f"{len(values)} {what}, p50 {statistics.median(values) * 1000:.1f} ms, "
        f"p99 {p99(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"
    )
