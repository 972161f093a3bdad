"""The injected clock: a ManualClock wakes its sleepers when moved, never by waiting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hotmesh.clock import ManualClock, SkippingClock, SystemClock


async def test_manual_clock_wakes_a_sleeper_when_moved_past_its_time() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    target = clock.now() + timedelta(hours=1)
    sleeper = asyncio.create_task(clock.sleep_until(target, cap=60))
    await asyncio.sleep(0)
    clock.advance(1800)  # half-way: still asleep
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.advance(timedelta(minutes=30))
    await asyncio.wait_for(sleeper, 1)
    assert clock.now() == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


async def test_manual_clock_sleep_returns_at_its_real_cap() -> None:
    clock = ManualClock()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await clock.sleep_until(clock.now() + timedelta(days=1), cap=0.05)
    assert loop.time() - started < 1
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)  # it did not move itself


def test_manual_clock_refuses_naive_times_and_going_back() -> None:
    clock = ManualClock()
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="cannot move the clock back"):
        clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


async def test_system_clock_is_aware_utc_and_sleeps_at_most_its_cap() -> None:
    clock = SystemClock()
    assert clock.now().tzinfo is UTC
    loop = asyncio.get_running_loop()
    started = loop.time()
    await clock.sleep_until(clock.now() + timedelta(hours=1), cap=0.01)
    assert loop.time() - started < 1


async def test_skipping_clock_runs_on_real_time_and_a_skip_wakes_its_sleepers() -> None:
    clock = SkippingClock()
    before = datetime.now(UTC)
    target = clock.now() + timedelta(days=30)
    sleeper = asyncio.create_task(clock.sleep_until(target, cap=60))
    await asyncio.sleep(0)
    clock.skip(15 * 86400)  # half-way: still asleep
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.skip(15 * 86400)
    await asyncio.wait_for(sleeper, 5)
    assert clock.skipped == 30 * 86400
    assert clock.now() - before >= timedelta(days=30)
    assert clock.now().tzinfo is UTC


async def test_skipping_clock_sleep_returns_at_its_real_cap_and_never_skips_back() -> (
    None
):
    clock = SkippingClock()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await clock.sleep_until(clock.now() + timedelta(days=1), cap=0.05)
    assert loop.time() - started < 1
    assert clock.skipped == 0
    with pytest.raises(ValueError, match="cannot skip back"):
        clock.skip(-1)
