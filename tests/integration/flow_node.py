"""A hotmesh node for the flow-control tests: engine + one ledger worker until stdin closes.

Usage: python -m tests.integration.flow_node DSN TOPIC LEASE HOLD [PASS]
The worker of TOPIC writes a ``flow_ledger`` row when a callback starts and
sets its ``ended`` when it ends (times from ``time.time()``, one machine), and
works HOLD seconds in between. A worker of topic PASS, when given, answers at
once, unrecorded: the step that follows it runs in this process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import asyncpg

from hotmesh import HotMesh

APP = """
app:
  id: fl
  version: '1'
  graphs:
    - subscribes: fl.limited
      expire: 600
      activities:
        t: {type: trigger}
        w:
          type: worker
          topic: fl.limited
          concurrency: 3
      transitions:
        t: [{to: w}]
    - subscribes: fl.handed
      expire: 600
      activities:
        h: {type: trigger}
        first: {type: worker, topic: fl.first}
        then:
          type: worker
          topic: fl.handed
          concurrency: 20
      transitions:
        h: [{to: first}]
        first: [{to: then}]
    - subscribes: fl.keyed
      expire: 600
      activities:
        kt:
          type: trigger
          job: {maps: {customer: '{$self.output.data.customer}'}}
        kfirst: {type: worker, topic: fl.kfirst}
        kthen: {type: worker, topic: fl.keyed}
      transitions:
        kt: [{to: kfirst}]
        kfirst: [{to: kthen}]
    - subscribes: fl.rated
      expire: 600
      activities:
        r: {type: trigger}
        rw: {type: worker, topic: fl.rated}
      transitions:
        r: [{to: rw}]
"""

LEDGER = (
    "CREATE TABLE flow_ledger (id serial PRIMARY KEY, job_id text, pid int,"
    " started float8 NOT NULL, ended float8)"
)


async def main(
    dsn: str, topic: str, lease: float, hold: float, passing: str | None
) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
    me = os.getpid()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        row = await pool.fetchval(
            "INSERT INTO flow_ledger (job_id, pid, started) VALUES ($1, $2, $3) RETURNING id",
            message["metadata"]["jid"],
            me,
            time.time(),
        )
        if hold:
            await asyncio.sleep(hold)  # the work itself
        await pool.execute(
            "UPDATE flow_ledger SET ended = $2 WHERE id = $1", row, time.time()
        )
        return {"data": {}}

    async def answer(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {}}

    workers = [{"topic": topic, "callback": work}]
    if passing:
        workers.append({"topic": passing, "callback": answer})
    hm = await HotMesh.init(
        app_id="fl",
        engine={
            "connection": {"dsn": dsn},
            "lease": lease,
            "poll": 0.5,
            "schedules": False,
        },
        workers=workers,
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await hm.stop()
    await pool.close()


if __name__ == "__main__":
    passing = sys.argv[5] if len(sys.argv) > 5 else None
    asyncio.run(
        main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), passing)
    )
