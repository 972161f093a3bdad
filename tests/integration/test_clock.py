"""The engine reads the injected clock for job timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from hotmesh.clock import ManualClock
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: clocked
  version: '1'
  graphs:
    - subscribes: tick
      activities:
        t: {type: trigger}
"""


async def test_job_timestamps_come_from_the_injected_clock(mesh: MeshFactory) -> None:
    clock = ManualClock(datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
    hm = await mesh("clocked", clock=clock)
    await hm.deploy(APP)
    await hm.activate("1")
    first = await hm.pub("tick", {})
    clock.advance(86400)
    second = await hm.pub("tick", {})
    assert (await hm.export(first))["metadata"]["jc"].startswith("20310506070809")
    assert (await hm.export(second))["metadata"]["jc"].startswith("20310507070809")
