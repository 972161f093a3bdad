"""A chaos-test node: engine + every worker of the chaos app, until killed or stdin closes.

Usage: python -m tests.chaos.node DSN LEASE
Each worker call is recorded in ``chaos_calls`` (job, activity, pid) before it
answers, so the test can tell a repeated call from a cut-off one.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from typing import Any

import asyncpg

from hotmesh import HotMesh

COUNT = {"@pipe": [["{$job.data.steps}", 1], ["{@math.add}"]]}
APP = """
app:
  id: chaos
  version: '1'
  graphs:
    - subscribes: chaos.seq
      expire: 3600
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}, job: {maps: {steps: 0}}}
        a: {type: worker, topic: chaos.a, input: {maps: {n: '{t.output.data.n}'}},
            job: {maps: {a: '{$self.output.data.n}', steps: STEP}}}
        b: {type: worker, topic: chaos.b, input: {maps: {n: '{a.output.data.n}'}},
            job: {maps: {b: '{$self.output.data.n}', steps: STEP}}}
      transitions:
        t: [{to: a}]
        a: [{to: b}]
    - subscribes: chaos.fan
      expire: 3600
      activities:
        ft: {type: trigger, stats: {id: '{$self.input.data.id}'}, job: {maps: {steps: 0}}}
        f1: {type: worker, topic: chaos.a, input: {maps: {n: 1}}, job: {maps: {f1: '{$self.output.data.n}', steps: STEP}}}
        f2: {type: worker, topic: chaos.a, input: {maps: {n: 2}}, job: {maps: {f2: '{$self.output.data.n}', steps: STEP}}}
        f3: {type: worker, topic: chaos.b, input: {maps: {n: 3}}, job: {maps: {f3: '{$self.output.data.n}', steps: STEP}}}
        f4: {type: worker, topic: chaos.b, input: {maps: {n: 4}}, job: {maps: {f4: '{$self.output.data.n}', steps: STEP}}}
        f5: {type: worker, topic: chaos.c, input: {maps: {n: 5}}, job: {maps: {f5: '{$self.output.data.n}', steps: STEP}}}
      transitions:
        ft: [{to: f1}, {to: f2}, {to: f3}, {to: f4}, {to: f5}]
    - subscribes: chaos.order
      expire: 3600
      activities:
        ot: {type: trigger, stats: {id: '{$self.input.data.id}'}, job: {maps: {steps: 0}}}
        check: {type: worker, topic: chaos.c, input: {maps: {n: '{ot.output.data.n}'}},
                job: {maps: {steps: STEP}}}
        even: {type: worker, topic: chaos.a, input: {maps: {n: 'even'}},
               job: {maps: {branch: '{$self.output.data.n}', steps: STEP}}}
        odd: {type: worker, topic: chaos.b, input: {maps: {n: 'odd'}},
              job: {maps: {branch: '{$self.output.data.n}', steps: STEP}}}
      transitions:
        ot: [{to: check}]
        check:
          - to: even
            conditions:
              match:
                - expected: true
                  actual: {'@pipe': [['{check.output.data.n}'], ['{@number.isEven}']]}
          - to: odd
            conditions:
              match:
                - expected: false
                  actual: {'@pipe': [['{check.output.data.n}'], ['{@number.isEven}']]}
""".replace("STEP", str(COUNT).replace("'", '"'))

LEDGER = (
    "CREATE TABLE IF NOT EXISTS chaos_calls (id bigserial PRIMARY KEY, job_id text, "
    "activity text, pid int)"
)


async def main(dsn: str, lease: float) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    me = os.getpid()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        md = message["metadata"]
        await asyncio.sleep(random.random() * 0.03)  # widen the window for kills
        await pool.execute(
            "INSERT INTO chaos_calls (job_id, activity, pid) VALUES ($1, $2, $3)",
            md["jid"],
            md["aid"],
            me,
        )
        return {"data": {"n": message["data"]["n"]}}

    workers = [
        {"topic": t, "callback": work} for t in ("chaos.a", "chaos.b", "chaos.c")
    ]
    hm = await HotMesh.init(
        app_id="chaos",
        # Every claim of a killed node's messages counts towards the poison
        # threshold; with a kill every second or two a message can meet several
        # victims, so the threshold is raised here (poison has its own test).
        engine={
            "connection": {"dsn": dsn},
            "lease": lease,
            "poll": 0.2,
            "poison_threshold": 50,
        },
        workers=workers,
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await hm.stop()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
