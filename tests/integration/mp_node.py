"""A hotmesh node for the multi-process tests: engine + workers until stdin closes.

Usage: python -m tests.integration.mp_node DSN MODE LEASE
MODE ``work``: workers ``mp.a`` and ``mp.b``; ``mp.b`` records each call in ``mp_ledger``.
MODE ``hang``: worker ``mp.a`` prints ``claimed <jid>`` and never answers (to be killed).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import asyncpg

from hotmesh import HotMesh

APP = """
app:
  id: mp
  version: '1'
  graphs:
    - subscribes: mp.start
      expire: 300
      activities:
        t1:
          type: trigger
        a1:
          type: worker
          topic: mp.a
          input: {maps: {n: '{t1.output.data.n}'}}
          job: {maps: {a: '{$self.output.data.n}'}}
        a2:
          type: worker
          topic: mp.b
          input: {maps: {n: '{a1.output.data.n}'}}
          job: {maps: {b: '{$self.output.data.n}'}}
      transitions:
        t1: [{to: a1}]
        a1: [{to: a2}]
"""


async def main(dsn: str, mode: str, lease: float) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    me = os.getpid()

    async def a(message: dict[str, Any]) -> dict[str, Any]:
        if mode == "hang":
            print(f"claimed {message['metadata']['jid']}", flush=True)
            await asyncio.Event().wait()
        return {"data": {"n": message["data"]["n"]}}

    async def b(message: dict[str, Any]) -> dict[str, Any]:
        await pool.execute(
            "INSERT INTO mp_ledger (job_id, pid) VALUES ($1, $2) "
            "ON CONFLICT (job_id) DO UPDATE SET calls = mp_ledger.calls + 1",
            message["metadata"]["jid"],
            me,
        )
        return {"data": {"n": message["data"]["n"]}}

    workers = [{"topic": "mp.a", "callback": a}]
    if mode == "work":
        workers.append({"topic": "mp.b", "callback": b})
    hm = await HotMesh.init(
        app_id="mp",
        engine={"connection": {"dsn": dsn}, "lease": lease, "poll": 0.2},
        workers=workers,
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await hm.stop()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
