"""A consumer's due times: a bounded few, earliest first; the rest read later."""

from __future__ import annotations

from hotmesh.engine.wakeups import Wakeups


def test_the_earliest_time_arms_the_timer_and_later_ones_wait_behind_it() -> None:
    w = Wakeups(size=4)
    assert w.add(10.0) is True
    assert w.add(12.0) is False  # behind the armed one
    assert w.add(5.0) is True  # earlier: re-arm
    assert w.next() == 5.0 and len(w) == 3
    assert w.passed(5.0) is False
    assert w.next() == 10.0
    assert w.passed(11.0) is False and w.next() == 12.0
    assert w.passed(12.0) is False and w.next() is None


def test_a_time_just_before_one_kept_rides_on_it() -> None:
    w = Wakeups(size=4, slack=0.005)
    w.add(10.0)
    assert w.add(9.998) is False and len(w) == 1  # 10.0 fires 2 ms after it
    assert w.add(9.99) is True  # 10 ms: its own time
    assert w.add(10.003) is False  # after one kept: never rides early
    assert len(w) == 3 and w.next() == 9.99


def test_many_times_keep_a_few_and_say_others_were_left_out() -> None:
    w = Wakeups(size=3)
    for t in range(1000, 0, -1):  # 1,000 sleeping jobs, announced latest first
        w.add(float(t))
    assert len(w) == 3 and w.next() == 1.0 and w.unknown
    assert w.passed(2.0) is False  # 3.0 still kept
    assert w.passed(3.0) is True  # none left, others exist: ask the database
    assert w.unknown is False and w.passed(4.0) is False
    for t in range(10, 20):  # announced earliest first: only the first 3 kept
        w.add(float(t))
    assert len(w) == 3 and w.unknown


def test_clear_forgets_everything() -> None:
    w = Wakeups(size=2)
    for t in (1.0, 2.0, 3.0):
        w.add(t)
    w.clear()
    assert len(w) == 0 and w.next() is None and not w.unknown
