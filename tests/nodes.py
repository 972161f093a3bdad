"""Node processes for the multi-process tests: ``python -m <module> ARGS...``
from the repository root, started until they print ``ready``, stopped by
closing their stdin (killed when they do not stop)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def start_node(
    procs: list[asyncio.subprocess.Process], module: str, *args: str
) -> asyncio.subprocess.Process:
    """Start a node, add it to ``procs`` (so teardown stops it even if it never
    gets ready) and return once it printed ``ready``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    procs.append(proc)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.strip() == b"ready", line
    return proc


async def stop_nodes(procs: list[asyncio.subprocess.Process], grace: float) -> None:
    """Stop every node still running: close its stdin, kill it after ``grace`` s."""
    for proc in procs:
        if proc.returncode is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                proc.kill()
                await proc.wait()
