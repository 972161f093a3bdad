"""The engine clock's compact stamps, parsed by hand for span times (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotmesh.telemetry._base import stamp_ns


@pytest.mark.parametrize(
    "stamp",
    [
        "20261207145710.791",
        "20240229235959.999",
        "19700101000000.000",
        "20991231000000.001",
    ],
)
def test_a_stamp_is_its_epoch_nanoseconds(stamp: str) -> None:
    moment = datetime.strptime(stamp, "%Y%m%d%H%M%S.%f").replace(tzinfo=UTC)
    assert stamp_ns(stamp) == round(moment.timestamp() * 1000) * 1_000_000


@pytest.mark.parametrize(
    "bad",
    [None, 5, "", "2026120714571.791", "20261207145710,791", "2026120714571x.791"],
)
def test_anything_else_is_none(bad: object) -> None:
    assert stamp_ns(bad) is None
