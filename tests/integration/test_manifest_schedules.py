"""``app.schedules`` in a manifest: deployed with the version, firing while it
is active, swapped when another version is activated (injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotmesh import HotMesh, errors
from hotmesh.clock import ManualClock
from tests.integration.conftest import MeshFactory

GRAPHS = """
  graphs:
    - subscribes: tick
      activities:
        t: {type: trigger}
"""
V1 = (
    """app:
  id: mani
  version: '1'
  schedules:
    - id: five
      topic: tick
      every: 5m
      data: {from: v1}
"""
    + GRAPHS
)
V2 = (
    """app:
  id: mani
  version: '2'
  schedules:
    - id: hourly
      topic: tick
      cron: '@hourly'
      catchup: all
"""
    + GRAPHS
)
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _mesh(mesh: MeshFactory, clock: ManualClock) -> HotMesh:
    return await mesh("mani", clock=clock, schedules=False)


async def test_manifest_schedules_fire_with_their_version_and_swap_on_activate(
    mesh: MeshFactory,
) -> None:
    clock = ManualClock(T0)
    hm = await _mesh(mesh, clock)
    await hm.deploy(V1)
    await hm.deploy(V2)
    assert await hm.schedules.list() == []  # deployed, no version active yet
    await hm.activate("1")
    listed = await hm.schedules.list()
    assert [(s["id"], s["version"], s["next_fire_at"]) for s in listed] == [
        ("five", "1", T0 + timedelta(minutes=5))
    ]
    clock.advance(300)
    fired = await hm.schedules.fire_due()
    assert fired == ["five:2026-06-01T12:05:00.000000Z"]
    assert (await hm.get_state("tick", fired[0]))["metadata"]["sch"] == "five"
    # activating version 2 swaps the schedules: only 'hourly' fires now
    await hm.activate("2")
    assert [s["id"] for s in await hm.schedules.list()] == ["hourly"]
    clock.advance(timedelta(minutes=55))
    assert await hm.schedules.fire_due() == ["hourly:2026-06-01T13:00:00.000000Z"]
    # back to version 1: it counts from now, the time it sat inactive is not
    # caught up, and version 2's catchup=all does not fire the hours it missed
    clock.advance(timedelta(hours=3))
    await hm.activate("1")
    assert await hm.schedules.fire_due() == []
    clock.advance(300)
    assert await hm.schedules.fire_due() == ["five:2026-06-01T16:05:00.000000Z"]
    await hm.activate("1")  # activating the active version again changes nothing
    clock.advance(300)
    assert await hm.schedules.fire_due() == ["five:2026-06-01T16:10:00.000000Z"]
    await hm.activate("2")
    clock.advance(timedelta(minutes=50))
    assert await hm.schedules.fire_due() == ["hourly:2026-06-01T17:00:00.000000Z"]


async def test_a_manifest_schedule_is_changed_by_the_manifest_not_the_api(
    mesh: MeshFactory,
) -> None:
    hm = await _mesh(mesh, ManualClock(T0))
    await hm.deploy(V1)
    await hm.activate("1")
    with pytest.raises(errors.ConfigError, match="manifest version '1'"):
        await hm.schedules.update("five", every="1m")
    with pytest.raises(errors.ConfigError, match="remove it from the manifest"):
        await hm.schedules.delete("five")
    # the same version with other schedules is another plan: bump the version
    with pytest.raises(errors.StoreConflictError, match="bump the version"):
        await hm.deploy(V1.replace("every: 5m", "every: 10m"))
    await hm.deploy(V1)  # the same manifest again: idempotent
    assert [s["every"] for s in await hm.schedules.list()] == [300.0]


@pytest.mark.parametrize(
    ("entry", "line", "pointer", "message"),
    [
        ("cron: '0 25 * * *'", 7, "/app/schedules/0/cron", "schedule option 'cron'"),
        ("every: soon", 7, "/app/schedules/0/every", "schedule option 'every'"),
        (
            "every: 1m\n      timezone: Europe/Berlinn",
            8,
            "/app/schedules/0/timezone",
            "unknown time zone 'Europe/Berlinn'",
        ),
        ("every: 0", 7, "/app/schedules/0/every", "longer than 0"),
        ("cron: '@daily'\n      every: 1h", 5, "/app/schedules/0", "exactly one of"),
        (
            "every: 1m\n      overlap: sometimes",
            8,
            "/app/schedules/0/overlap",
            "must be one of",
        ),
        ("evry: 1m", 7, "/app/schedules/0/evry", "did you mean 'every'"),
        (
            "every: 1m\n      start_at: 'next week'",
            8,
            "/app/schedules/0/start_at",
            "not an ISO 8601",
        ),
    ],
)
async def test_bad_manifest_schedules_are_refused_at_deploy_naming_the_field(
    mesh: MeshFactory, entry: str, line: int, pointer: str, message: str
) -> None:
    hm = await _mesh(mesh, ManualClock(T0))
    bad = f"""app:
  id: mani
  version: '1'
  schedules:
    - id: s1
      topic: tick
      {entry}
{GRAPHS}"""
    with pytest.raises(errors.ManifestValidationError) as caught:
        await hm.deploy(bad)
    problem = caught.value.first
    assert (problem.line, problem.pointer) == (line, pointer), str(caught.value)
    assert message in problem.message
    assert await hm.store.list_apps() == []  # nothing stored


async def test_an_unknown_topic_or_a_repeated_id_is_refused(mesh: MeshFactory) -> None:
    hm = await _mesh(mesh, ManualClock(T0))
    bad = (
        """app:
  id: mani
  version: '1'
  schedules:
    - {id: s1, topic: tick, every: 1m}
    - {id: s2, topic: tock, every: 1m}
    - {id: s1, topic: tick, every: 2m}
"""
        + GRAPHS
    )
    with pytest.raises(errors.ManifestValidationError) as caught:
        await hm.deploy(bad)
    found = [(p.line, p.pointer, p.message) for p in caught.value.problems]
    assert found == [
        (
            6,
            "/app/schedules/1/topic",
            "schedule 's2': no graph of this version subscribes to 'tock' (graphs: tick)",
        ),
        (7, "/app/schedules/2/id", "schedule id 's1' is declared twice"),
    ]
