"""A process for the registry tests: ``python -m tests.dashboard.proc_node DSN
HEARTBEAT TOPIC...`` runs one HotMesh of app ``dash`` with a worker on each
TOPIC, prints ``ready`` and runs until its stdin closes (then stops cleanly)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from hotmesh import HotMesh


async def answer(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"checked": True}}


async def main(dsn: str, heartbeat: float, topics: list[str]) -> None:
    hm = await HotMesh.init(
        app_id="dash",
        engine={"connection": {"dsn": dsn}, "heartbeat": heartbeat},
        workers=[{"topic": t, "callback": answer} for t in topics],
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await hm.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3:]))
