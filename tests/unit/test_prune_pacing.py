"""The background pruning's pause: the paced share of a statement's time, capped."""

from __future__ import annotations

import pytest

from hotmesh import upkeep


def test_the_pause_is_the_paced_share_of_the_statement_capped() -> None:
    pacing = upkeep.Pacing(batch=100, pace=4.0, max_pause=1.0)
    assert pacing.pause(0.1, 0.0) == pytest.approx(0.4)
    assert pacing.pause(0.1, 1.0) == pytest.approx(0.8)  # busy: twice as long
    assert pacing.pause(0.1, 7.0) == pytest.approx(0.8)  # busy counts up to 1
    assert pacing.pause(2.0, 0.0) == 1.0  # a slow statement: the backlog still drains
    assert upkeep.Pacing(100, 0.0, 1.0).pause(3.0, 1.0) == 0.0  # pace 0: no pause
