"""Signals, queries and updates: the behaviour of Temporal's hello samples, on MemFlow.

    python examples/memflow_messages.py

Uses DATABASE_URL / HOTMESH_DSN when set, otherwise a private embedded
PostgreSQL. Three workflows, each written from what the Temporal Python sample
of the same name does (not from its code), print the same lines:

* hello_signal: greetings arrive as signals until an ``exit`` signal;
  ``Result: ['Hello, user1', 'Hello, user2', 'Hello, user3']``
* hello_query: a query answers while the workflow runs and after it ends;
  ``First greeting result: Hello, World!`` then ``Second greeting result:
  Goodbye, World!``
* hello_update: an update ends the wait and returns a value to its caller;
  ``Update Result: Workflow status updated`` then ``Workflow Result: Hello, World!``

What differs from Temporal: ``client.workflow.start`` takes the task queue and
the workflow class as keywords, and the durable timer is ``sleep_for``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hotmesh import MemFlow
from hotmesh.config import resolve_dsn

wf = MemFlow.workflow


@wf.defn
class SignalGreetings:
    """Collects a greeting per ``submit_greeting`` signal until ``exit``."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.done = False

    @wf.run
    async def run(self) -> list[str]:
        greetings: list[str] = []
        while not self.done:
            await wf.wait_condition(lambda: bool(self.pending) or self.done)
            # handlers run in arrival order, so the names come out as sent
            greetings.extend(f"Hello, {name}" for name in self.pending)
            self.pending.clear()
        return greetings

    @wf.signal
    async def submit_greeting(self, name: str) -> None:
        self.pending.append(name)

    @wf.signal
    def exit(self) -> None:
        self.done = True


@wf.defn
class QueryGreeting:
    """Says hello, waits on a durable timer, then says goodbye."""

    def __init__(self) -> None:
        self.greeting = "<no greeting>"

    @wf.run
    async def run(self, name: str, pause: float) -> None:
        self.greeting = f"Hello, {name}!"
        await wf.sleep_for(pause)
        self.greeting = f"Goodbye, {name}!"

    @wf.query
    def current(self) -> str:
        return self.greeting


@wf.defn
class UpdateGreeting:
    """Waits until an update marks it complete; the update answers its caller."""

    def __init__(self) -> None:
        self.complete = False

    @wf.run
    async def run(self) -> str:
        await wf.wait_condition(lambda: self.complete)
        return "Hello, World!"

    @wf.update
    async def update_workflow_status(self) -> str:
        self.complete = True
        return "Workflow status updated"


async def main(dsn: str | None = None, pause: float = 2.0) -> list[str]:
    """Runs the three samples; returns the lines it printed."""
    conn = {"dsn": dsn or resolve_dsn(None)}
    lines: list[str] = []

    def say(line: str) -> None:
        print(line)
        lines.append(line)

    run = uuid.uuid4().hex[:8]
    workers = [
        await MemFlow.Worker.create(
            {"connection": conn, "task_queue": "hello-messages", "workflow": w}
        )
        for w in (SignalGreetings, QueryGreeting, UpdateGreeting)
    ]
    client = MemFlow.Client({"connection": conn})
    try:

        async def start(workflow: Any, *args: Any) -> Any:
            return await client.workflow.start(
                args=list(args),
                task_queue="hello-messages",
                workflow_name=workflow,
                workflow_id=f"hello-{workflow.__name__}-{run}",
            )

        # hello_signal
        handle = await start(SignalGreetings)
        for name in ("user1", "user2", "user3"):
            await handle.signal(SignalGreetings.submit_greeting, name)
        await handle.signal(SignalGreetings.exit)
        say(f"Result: {await handle.result()}")

        # hello_query: asked while the timer runs, then after the workflow ended
        handle = await start(QueryGreeting, "World", pause)
        say(f"First greeting result: {await handle.query(QueryGreeting.current)}")
        await handle.result()
        say(f"Second greeting result: {await handle.query(QueryGreeting.current)}")

        # hello_update
        handle = await start(UpdateGreeting)
        status = await handle.execute_update(UpdateGreeting.update_workflow_status)
        say(f"Update Result: {status}")
        say(f"Workflow Result: {await handle.result()}")
    finally:
        await client.close()
        for w in workers:
            await w.stop()
    return lines


if __name__ == "__main__":
    asyncio.run(main())
