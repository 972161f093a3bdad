"""Slot fields ``name[N]`` in ``job.maps`` (spec §3.2): entries keyed by index,
merged per index across writes, a slot never written absent (not null)."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh.engine.context import write_job_data
from hotmesh.expr import UNDEFINED


def write(*patches: dict[str, Any], data: dict[str, Any] | None = None) -> Any:
    out = dict(data or {})
    for patch in patches:
        out = write_job_data(out, patch)
    return out


def test_writes_to_different_slots_are_merged() -> None:
    data = write({"r[5]": {"1": "a"}}, {"r[5]": {"3": "c"}})
    assert data == {"r": {"1": "a", "3": "c"}}


def test_a_later_write_to_the_same_slot_replaces_only_that_slot() -> None:
    data = write({"r[5]": {"1": "a", "2": "b"}}, {"r[5]": {"2": "B"}})
    assert data == {"r": {"1": "a", "2": "B"}}


def test_a_slot_never_written_is_absent_not_null() -> None:
    data = write({"r[25]": {"7": {"type": "sleep"}}})
    assert data == {"r": {"7": {"type": "sleep"}}}
    assert "0" not in data["r"] and len(data["r"]) == 1


@pytest.mark.parametrize("empty", [{}, [], None, "text", 12, UNDEFINED])
def test_an_empty_or_entryless_source_writes_nothing(empty: Any) -> None:
    assert write({"r[3]": empty}) == {}
    assert write({"r[3]": empty}, data={"r": {"0": 1}}) == {"r": {"0": 1}}


def test_a_list_source_is_keyed_by_position() -> None:
    assert write({"r[3]": ["a", None, "c"]}) == {"r": {"0": "a", "1": None, "2": "c"}}


def test_null_is_a_present_value_undefined_is_not() -> None:
    data = write({"r[3]": {"0": None, "1": UNDEFINED}}, data={"r": {"1": "kept"}})
    assert data == {"r": {"0": None, "1": "kept"}}


def test_indexes_outside_the_slots_or_not_indexes_are_not_stored() -> None:
    # upstream reserves exactly N slot fields: anything else has nowhere to go
    patch = {"r[3]": {"3": "x", "-1": "y", "a": "z", "1.5": "w", "01": "v", "2": "ok"}}
    assert write(patch) == {"r": {"2": "ok"}}


def test_integer_keys_are_stored_as_index_strings() -> None:
    assert write({"r[12]": {10: "j", 2: "b"}}) == {"r": {"2": "b", "10": "j"}}


def test_slots_come_back_in_index_order() -> None:
    data = write({"r[20]": {"11": 1}}, {"r[20]": {"2": 2}}, {"r[20]": {"0": 0}})
    assert list(data["r"]) == ["0", "2", "11"]


def test_a_padded_list_from_an_older_job_is_merged_by_index() -> None:
    data = write({"r[3]": {"2": "c"}}, data={"r": ["a", None, None]})
    assert data == {"r": {"0": "a", "2": "c"}}


def test_slot_fields_leave_other_fields_alone() -> None:
    data = write({"r[2]": {"0": 1}, "x": 5}, {"r[2]": {"1": 2}, "y": 6})
    assert data == {"r": {"0": 1, "1": 2}, "x": 5, "y": 6}
