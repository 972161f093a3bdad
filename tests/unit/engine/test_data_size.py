"""The early-abort measure of job data (issue 20: a 31 MB ``pub`` held the loop 5 s)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.engine.options import EngineOptions
from hotmesh.engine.payload import MAX_DATA_BYTES, size_over, worker_response


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        [],
        "text",
        {"a": [1, 2.5, True, None, "x" * 100], "b": {"c": -(10**30)}},
        [{"id": i, "name": f"item {i}"} for i in range(200)],
    ],
)
def test_the_measure_is_at_least_the_json_text(value: Any) -> None:
    """Never under the JSON text, so the limit is never looser than it says."""
    size = len(json.dumps(value, separators=(",", ":")))
    assert size_over(value, size - 1) is not None
    # and not wildly over it: within 4x plus a constant
    assert size_over(value, 4 * size + 16) is None


def test_a_value_within_the_limit_passes() -> None:
    value = {"items": ["x" * 10] * 1000}
    assert size_over(value, 20_000) is None
    measured = size_over(value, 10_000)
    assert measured is not None and 10_000 < measured <= 10_020


def test_a_huge_value_is_refused_after_walking_only_the_limit() -> None:
    """2,000,000 strings (31 MB as JSON): the walk stops past the limit."""
    strings = [f"s{i:09d}-abc" for i in range(2_000_000)]
    chunks = [strings[i : i + 10] for i in range(0, len(strings), 10)]
    began = time.process_time()
    measured = size_over({"big": chunks}, 1 << 20)
    spent = time.process_time() - began
    assert measured is not None and measured > 1 << 20
    assert measured < (1 << 20) + 64  # stopped at once, not after the rest
    # a flat list longer than the limit is refused before it is walked at all
    flat = size_over({"big": strings}, 1 << 20)
    assert flat == 2 + (3 + 4) + 2 + 2_000_000  # braces, "big":, brackets, commas
    print(f"\n31 MB value refused in {spent * 1000:.1f} ms of CPU")


def test_circular_and_odd_values_end() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert size_over(loop, 1000) is not None
    assert size_over({"b": b"x" * 50, 3: {1, 2}}, 1000) is None
    assert size_over({"b": b"x" * 5000}, 1000) is not None


def test_a_worker_answer_over_the_limit_is_an_error_naming_it() -> None:
    answer = worker_response({"data": {"rows": ["x" * 100] * 100}}, max_bytes=1000)
    assert answer is not None and answer["status"] == "error"
    message = answer["data"]["message"]
    assert "invalid worker response at /data: too large" in message
    assert "limit of 1,000 (engine option max_data_bytes)" in message
    ok = {"data": {"rows": ["x"] * 10}}
    assert worker_response(ok, max_bytes=1000) is ok


def test_the_engine_option() -> None:
    assert EngineOptions().max_data_bytes == MAX_DATA_BYTES == 4 << 20
    assert EngineOptions.from_dict({"max_data_bytes": 1000}).max_data_bytes == 1000
    with pytest.raises(errors.ConfigError, match=r"engine\.max_data_bytes"):
        EngineOptions.from_dict({"max_data_bytes": 0})
    with pytest.raises(errors.ConfigError, match="did you mean 'max_data_bytes'"):
        EngineOptions.from_dict({"max_data_byte": 10})
