"""Typo hints: edit distance and the closest known name."""

from __future__ import annotations

import pytest

from hotmesh.graph.spelling import closest, distance


@pytest.mark.parametrize(
    ("a", "b", "edits"),
    [
        ("", "", 0),
        ("condition", "conditions", 1),
        ("titel", "title", 1),  # a swap of two neighbours is one edit
        ("activites", "activities", 1),
        ("sleep", "slept", 2),
        ("abc", "", 3),
        ("kitten", "sitting", 3),
    ],
)
def test_distance(a: str, b: str, edits: int) -> None:
    assert distance(a, b) == edits
    assert distance(b, a) == edits


def test_closest_allows_two_edits_for_long_keys_and_one_for_short() -> None:
    known = ["conditions", "to", "input", "output", "maps"]
    assert closest("condition", known) == "conditions"
    assert closest("conditons", known) == "conditions"
    assert closest("Conditions", known) == "conditions"
    assert closest("inputs", known) == "input"
    assert closest("mapz", known) == "maps"
    assert closest("tx", known) == "to"
    assert closest("txx", known) is None  # two edits from a two-letter key
    assert closest("notes", known) is None
    assert closest("to", known) is None  # a known key is no typo


def test_closest_prefers_the_nearest_then_the_first_name() -> None:
    assert closest("data", ["date", "dat", "beta"]) == "dat"
    assert closest("abcd", ["abce", "abcf"]) == "abce"
