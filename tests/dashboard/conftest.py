"""The console served by a real uvicorn on a free port, over a real database
with an app whose jobs wait on a hook, and a worker answering in this test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.dashboard import create_app, serve

START_TIMEOUT = 60.0

APP = """
app:
  id: dash
  version: '1'
  graphs:
    - subscribes: dash.order
      publishes: dash.ordered
      expire: 600
      activities:
        order:
          type: trigger
          stats:
            key: '{$self.input.data.customer}'
          job:
            maps:
              note: '{$self.input.data.note}'
              customer: '{$self.input.data.customer}'
        check:
          type: worker
          topic: dash.check
          input:
            maps:
              note: '{order.output.data.note}'
          job:
            maps:
              checked: '{$self.output.data.checked}'
        approve:
          type: hook
          escalation:
            role: approver
            description: '{order.output.data.note}'
          job:
            maps:
              approvedBy: '{$self.hook.data.by}'
      transitions:
        order: [{to: approve}]
        approve: [{to: check}]
      hooks:
        dash.approve:
          - to: approve
            conditions:
              match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]
"""

#: job data a person typed: it must show as text, never as markup
XSS = [
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned=2">',
]


@dataclass
class Served:
    """A console being served: its base URL and options."""

    url: str
    token: str | None
    read_only: bool


@contextmanager
def served(dsn: str, **options: Any) -> Iterator[Served]:
    """Serve ``create_app(dsn, **options)`` on 127.0.0.1 in a thread until the block ends."""
    app = create_app(dsn=dsn, **options)
    ready = threading.Event()
    where: list[int] = []

    def started(host: str, port: int) -> None:
        where.append(port)
        ready.set()

    server = serve.Server(serve.config(app, "127.0.0.1", 0), started)
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()
    try:
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError("the dashboard did not start listening")
        yield Served(
            f"http://127.0.0.1:{where[0]}",
            options.get("token"),
            bool(options.get("read_only")),
        )
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        assert not thread.is_alive(), "the dashboard did not stop"


@dataclass
class Shop:
    """The ``dash`` app deployed and served, with its worker running here."""

    hm: HotMesh
    dsn: str

    async def order(self, note: str, customer: str = "c-42") -> str:
        """Start a job: the trigger's step suspends its hook and opens its
        escalation before ``pub`` returns."""
        job_id = await self.hm.pub("dash.order", {"note": note, "customer": customer})
        assert await self.hm.escalations.get_by_signal_key(job_id) is not None
        return job_id

    async def finished(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait (on the job's completion message) until the job has finished."""
        done: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )

        def seen(topic: str, output: dict[str, Any]) -> None:
            if not done.done():
                done.set_result(output)

        await self.hm.sub(f"dash.ordered.{job_id}", seen)
        try:
            if await self.hm.get_status(job_id) <= 0:
                return await self.hm.get_state("dash.order", job_id)
            return await asyncio.wait_for(done, timeout)
        finally:
            await self.hm.unsub(f"dash.ordered.{job_id}", seen)


@pytest.fixture
async def shop(pg_dsn: str) -> AsyncIterator[Shop]:
    async def check(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"checked": True}}

    hm = await HotMesh.init(
        app_id="dash",
        engine={"connection": {"dsn": pg_dsn}},
        workers=[{"topic": "dash.check", "callback": check}],
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        yield Shop(hm, pg_dsn)
    finally:
        await hm.stop()
