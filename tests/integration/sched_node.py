"""A hotmesh node for the schedule tests: engine, schedule loop and a ledger worker.

Usage: python -m tests.integration.sched_node DSN MODE
MODE ``fire``: fires schedules; ``sched.work`` records each job in ``sched_ledger``.
MODE ``die``: as ``fire``, but its first firing pass prints ``firing <schedule>``
after starting the tick's job and then hangs before committing (to be killed).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import asyncpg

from hotmesh import HotMesh
from hotmesh.store.schedules import ScheduleRows

APP = """
app:
  id: beat
  version: '1'
  graphs:
    - subscribes: beat
      activities:
        t: {type: trigger}
        w: {type: worker, topic: sched.work}
      transitions:
        t: [{to: w}]
"""


async def main(dsn: str, mode: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    me = os.getpid()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        await pool.execute(
            "INSERT INTO sched_ledger (job_id, pid) VALUES ($1, $2) "
            "ON CONFLICT (job_id) DO UPDATE SET calls = sched_ledger.calls + 1",
            message["metadata"]["jid"],
            me,
        )
        return {"data": {}}

    if mode == "die":
        advance = ScheduleRows.advance

        async def hang(self: ScheduleRows, *args: Any) -> None:
            print(f"firing {args[3]}", flush=True)  # the job is written, not committed
            await asyncio.Event().wait()
            await advance(self, *args)

        ScheduleRows.advance = hang  # type: ignore[method-assign]
    hm = await HotMesh.init(
        app_id="beat",
        engine={"connection": {"dsn": dsn}, "poll": 0.5},
        workers=[{"topic": "sched.work", "callback": work}],
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await hm.stop()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
