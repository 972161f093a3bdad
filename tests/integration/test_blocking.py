"""Calling hotmesh from synchronous code (a web view, a script) through a portal.

These tests are plain ``def`` functions on purpose: no event loop runs in the
calling thread, as in a Flask or Django worker.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hotmesh import blocking, errors

APP = """
app:
  id: sync
  version: '1'
  graphs:
    - subscribes: sync.go
      activities:
        t1: {type: trigger}
        w1:
          type: worker
          topic: sync.work
          input: {maps: {n: '{t1.output.data.n}'}}
          job: {maps: {squared: '{$self.output.data.squared}'}}
      transitions:
        t1: [{to: w1}]
"""


def square(message: dict[str, Any]) -> dict[str, Any]:
    """A synchronous worker callback (run in the portal's thread pool)."""
    n = message["data"]["n"]
    return {"data": {"squared": n * n}}


def test_a_script_and_concurrent_views_call_hotmesh_synchronously(
    pg_dsn: str,
) -> None:
    with blocking.connect(
        "sync", dsn=pg_dsn, workers=[{"topic": "sync.work", "callback": square}]
    ) as hm:
        hm.deploy(APP)
        hm.activate("1")
        assert hm.pubsub("sync.go", {"n": 7})["data"] == {"squared": 49}

        def view(n: int) -> int:  # what a Flask/Django view would do
            return int(hm.pubsub("sync.go", {"n": n}, timeout=20)["data"]["squared"])

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(view, range(16))) == [n * n for n in range(16)]
        # any coroutine function of the mesh through call()
        out = hm.call(hm.mesh.pubsub, "sync.go", {"n": 3}, timeout=20)
        job_id = out["metadata"]["jid"]
        assert hm.get_status(job_id) == 0
        assert hm.export(job_id)["data"] == {"squared": 9}
        assert hm.get_state("sync.go", job_id)["data"] == {"squared": 9}
    with pytest.raises(errors.ConfigError, match=r"^this portal is closed$"):
        hm.get_status(job_id)


def test_errors_reach_the_calling_thread(pg_dsn: str) -> None:
    with blocking.connect("sync", dsn=pg_dsn) as hm:  # no worker: jobs wait
        hm.deploy(APP)
        hm.activate("1")
        with pytest.raises(TimeoutError) as caught:
            hm.pubsub("sync.go", {"n": 1}, timeout=0.3)
        assert isinstance(caught.value, errors.JobTimeoutError)
        with pytest.raises(errors.UnknownTopicError):
            hm.pub("no.such.topic", {})


def test_a_bad_option_fails_connect_and_leaves_no_thread(pg_dsn: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        blocking.connect("sync", engine={"conection": {"dsn": pg_dsn}})
    assert str(caught.value) == (
        "engine: unknown option 'conection' (did you mean 'connection'?)"
    )


def test_calling_the_portal_from_its_own_loop_is_refused() -> None:
    portal = blocking.Portal()
    try:

        async def inner() -> None:
            portal.call(asyncio.sleep, 0)

        with pytest.raises(errors.ConfigError) as caught:
            portal.call(inner)
        assert str(caught.value) == (
            "Portal.call from the portal's own loop would wait for ever: "
            "await the coroutine instead"
        )
    finally:
        portal.close()
