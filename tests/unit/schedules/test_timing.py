"""Schedule ticks and firing passes (pure): DST, catch-up, overlap, jitter, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotmesh import errors
from hotmesh.schedules import spec as specs
from hotmesh.schedules import timing

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def make(**options: Any) -> specs.ScheduleSpec:
    return specs.build("nightly", "go", {"n": 1}, options)


def local(*parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def test_a_0230_daily_schedule_fires_once_on_spring_forward_and_fall_back_days() -> (
    None
):
    spec = make(cron="30 2 * * *", timezone="Europe/Berlin")
    # 2026-03-29: clocks jump 02:00 -> 03:00 (02:30 does not exist)
    spring = timing.ticks(
        spec, T0, local(2026, 3, 28, 12, 0), local(2026, 3, 30, 12, 0), 10
    )
    assert spring == [local(2026, 3, 29, 2, 30), local(2026, 3, 30, 2, 30)]
    assert spring[0] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    # 2026-10-25: 03:00 -> 02:00 (02:30 happens twice): once, the first time
    fall = timing.ticks(
        spec, T0, local(2026, 10, 24, 12, 0), local(2026, 10, 26, 12, 0), 10
    )
    assert fall == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET
    ]


def test_an_hourly_schedule_never_fires_one_instant_twice_over_the_gap() -> None:
    spec = make(cron="30 * * * *", timezone="Europe/Berlin")
    got = timing.ticks(spec, T0, local(2026, 3, 29, 0, 0), local(2026, 3, 29, 5, 0), 10)
    assert len(got) == len(set(got))
    assert [t.astimezone(BERLIN).hour for t in got] == [0, 1, 3, 4]


def test_every_counts_from_start_at_and_stops_at_end_at() -> None:
    start = T0 + timedelta(hours=1)
    spec = make(every="15m", start_at=start, end_at=start + timedelta(minutes=30))
    cursor = timing.initial_cursor(spec, T0)
    got = timing.ticks(
        spec, timing.anchor(spec, T0), cursor, T0 + timedelta(days=1), 10
    )
    assert got == [start, start + timedelta(minutes=15), start + timedelta(minutes=30)]
    assert timing.next_fire(spec, start, got[-1]) is None


def test_six_fields_put_seconds_first_and_aliases_work() -> None:
    spec = make(cron="*/20 * * * * *")
    got = timing.ticks(spec, T0, T0, T0 + timedelta(minutes=1), 10)
    assert got == [T0 + timedelta(seconds=s) for s in (20, 40, 60)]
    daily = make(cron="@daily")
    assert timing.ticks(daily, T0, T0, T0 + timedelta(days=2), 5) == [
        datetime(2026, 6, 2, tzinfo=UTC),
        datetime(2026, 6, 3, tzinfo=UTC),
    ]


def test_an_on_time_tick_fires_and_the_cursor_moves_past_it() -> None:
    spec = make(every="1m")
    p = timing.decide(spec, T0, T0, T0 + timedelta(seconds=61), False, None)
    assert p.fire == [T0 + timedelta(minutes=1)]
    assert p.cursor == T0 + timedelta(minutes=1)
    assert p.next_at == T0 + timedelta(minutes=2)


@pytest.mark.parametrize(
    ("catchup", "fired"),
    [("skip", 0), ("latest", 1), ("all", 5)],
)
def test_catchup_decides_about_ticks_missed_while_nothing_ran(
    catchup: str, fired: int
) -> None:
    spec = make(every="10m", catchup=catchup, catchup_window="1h", overlap="allow")
    now = T0 + timedelta(minutes=55)  # ticks at 10..50 were missed; none is on time
    p = timing.decide(spec, T0, T0, now, False, None)
    assert len(p.fire) == fired
    if catchup == "latest":
        assert p.fire == [T0 + timedelta(minutes=50)]
    if catchup == "skip":  # skip does not even look further back than GRACE
        assert p.missed == []
        assert p.cursor == now - timedelta(seconds=timing.GRACE)
    else:
        assert len(p.fire) + len(p.missed) == 5
        assert p.cursor == T0 + timedelta(minutes=50)
    assert p.next_at == T0 + timedelta(minutes=60)


def test_the_catchup_window_bounds_how_far_back_all_goes() -> None:
    spec = make(every="10m", catchup="all", catchup_window="30m", overlap="allow")
    now = T0 + timedelta(hours=3, minutes=1)
    p = timing.decide(spec, T0, T0, now, False, None)
    assert p.fire == [
        T0 + timedelta(hours=2, minutes=40),
        *(T0 + timedelta(hours=2, minutes=m) for m in (50,)),
        T0 + timedelta(hours=3),
    ]


def test_overlap_skip_buffer_one_and_allow_while_the_last_run_is_going() -> None:
    now = T0 + timedelta(minutes=1, seconds=1)
    tick = T0 + timedelta(minutes=1)
    skip = timing.decide(make(every="1m", overlap="skip"), T0, T0, now, True, None)
    assert (skip.fire, skip.skipped) == ([], [tick])
    buf = timing.decide(make(every="1m", overlap="buffer_one"), T0, T0, now, True, None)
    assert (buf.fire, buf.buffered) == ([], tick)
    # the next pass, with the run still going: the buffer holds one, the rest skip
    later = now + timedelta(minutes=1)
    buf2 = timing.decide(
        make(every="1m", overlap="buffer_one"), T0, tick, later, True, tick
    )
    assert (buf2.fire, buf2.buffered, buf2.skipped) == (
        [],
        tick,
        [tick + timedelta(minutes=1)],
    )
    # the run finished: the buffered tick starts first, then the due one is an overlap
    buf3 = timing.decide(
        make(every="1m", overlap="buffer_one"), T0, tick, later, False, tick
    )
    assert buf3.fire == [tick]
    assert buf3.buffered == tick + timedelta(minutes=1)
    allow = timing.decide(make(every="1m", overlap="allow"), T0, T0, now, True, None)
    assert allow.fire == [tick]


def test_jitter_delays_a_tick_the_same_way_in_every_process() -> None:
    spec = make(every="1h", jitter="10m")
    tick = T0 + timedelta(hours=1)
    shift = timing.offset(spec, tick)
    assert timedelta(0) <= shift < timedelta(minutes=10)
    assert timing.offset(make(every="1h", jitter="10m"), tick) == shift
    assert (
        timing.decide(
            spec, T0, T0, tick + shift - timedelta(seconds=1), False, None
        ).fire
        == []
    )
    assert timing.decide(spec, T0, T0, tick + shift, False, None).fire == [tick]


def test_a_tick_job_id_is_the_schedule_id_and_the_scheduled_time() -> None:
    assert timing.job_id("nightly", T0) == "nightly:2026-06-01T12:00:00.000000Z"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cron": "61 * * * *"}, "schedule option 'cron': invalid expression"),
        ({"cron": "* * *"}, "schedule option 'cron'"),
        ({"every": "soon"}, "schedule option 'every'"),
        ({"every": 0}, "schedule option 'every': must be longer"),
        (
            {"every": "1m", "timezone": "Mars/Olympus"},
            "unknown time zone 'Mars/Olympus'",
        ),
        ({"every": "1m", "overlap": "skp"}, "did you mean 'skip'"),
        ({"every": "1m", "catchup": "everything"}, "schedule option 'catchup'"),
        ({"every": "1m", "catchup_window": "-1"}, "schedule option 'catchup_window'"),
        (
            {"every": "1m", "jiter": "1s"},
            "unknown schedule option 'jiter' (did you mean 'jitter'?)",
        ),
        (
            {"every": "1m", "start_at": "2026-01-01T00:00:00"},
            "'start_at': 2026-01-01T00:00:00 has no time zone",
        ),
        ({"every": "1m", "start_at": T0, "end_at": T0}, "'end_at': must be later"),
        ({}, "exactly one of 'cron' or 'every'"),
        ({"cron": "@daily", "every": "1d"}, "exactly one of 'cron' or 'every'"),
    ],
)
def test_bad_options_are_config_errors_naming_the_field(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        make(**options)
    assert message in str(caught.value)


def test_a_bad_schedule_id_is_refused() -> None:
    with pytest.raises(errors.ConfigError, match="invalid schedule id"):
        specs.build("has space", "go", {}, {"every": "1m"})
