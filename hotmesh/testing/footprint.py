"""What a HotMesh process holds per job, counted: a test or a bench checks
that jobs asleep or waiting on hooks cost nothing here (issue 21)."""

from __future__ import annotations

import asyncio

from hotmesh import telemetry
from hotmesh.mesh import HotMesh


def footprint(hm: HotMesh) -> dict[str, int]:
    """Sizes of ``hm``'s structures that hold something per job or message,
    and the timers of the running event loop (call it inside the loop)."""
    engine = hm.engine
    consumers = list(hm._consumers.values())
    loop = asyncio.get_running_loop()
    return {
        # engine: cached job states with work on their way, waiting job
        # states kept (a constant bound, the most recent), steps queued
        "cached_states": len(engine.states),
        "waiting_states": engine.states.waiting_count(),
        "queued_steps": sum(len(q) for q in engine._pending.values()),
        "stepping_jobs": len(engine._running),
        # pubsub callers waiting for a job's end (the caller's own wait), and
        # topics subscribed to (a MemFlow handle watches its workflow's end)
        "result_waiters": sum(len(w) for w in hm._waiters.values()),
        "subscribed_topics": len(hm.subscriptions._subs),
        # consumers: claims held, due times kept for delayed messages
        "held_claims": sum(len(c.held) for c in consumers),
        "due_times": sum(len(c._wakeups) for c in consumers),
        # the event loop's armed timers (asyncio's own heap of them)
        "loop_timers": len(getattr(loop, "_scheduled", ())),
        # job spans this process opened (only with OpenTelemetry on)
        "open_job_spans": len(telemetry._OPEN),
    }


__all__ = ["footprint"]
