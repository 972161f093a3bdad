"""input_problem: the most relevant violation of a job input, as pointer and message."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from hotmesh.graph.inputs import input_problem

SCHEMA = MappingProxyType(
    {
        "type": "object",
        "required": ["a/b"],
        "properties": {
            "a/b": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
)


def test_valid_input_has_no_problem() -> None:
    assert input_problem(SCHEMA, {"a/b": 1, "tags": ["x"]}) is None


def test_pointer_names_the_failing_field_with_escaping() -> None:
    assert input_problem(SCHEMA, {"a/b": "x"}) == (
        "/a~1b",
        "'x' is not of type 'integer'",
    )
    assert input_problem(SCHEMA, {"a/b": 1, "tags": ["x", 2]}) == (
        "/tags/1",
        "2 is not of type 'string'",
    )
    assert input_problem(SCHEMA, {}) == ("/", "'a/b' is a required property")


def test_an_invalid_schema_is_documentation_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = MappingProxyType({"type": "no-such-type"})
    assert input_problem(broken, {"anything": True}) is None
    assert "not enforced" in caplog.text
