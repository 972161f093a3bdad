"""Parsing manifest strings: references, functions, interpolation, literals, errors."""

from __future__ import annotations

import pytest

from hotmesh import errors
from hotmesh.expr import ast
from hotmesh.expr.parser import parse_string


@pytest.mark.parametrize(
    ("text", "root", "segments"),
    [
        ("{a1.output.data.x}", "a1", ("output", "data", "x")),
        ("{$job.metadata.jid}", "$job", ("metadata", "jid")),
        ("{$self.output.data.items.0}", "$self", ("output", "data", "items", "0")),
        ("{$self.output.data.$error}", "$self", ("output", "data", "$error")),
        ("{$item.full_name}", "$item", ("full_name",)),
        ("{$output}", "$output", ()),
        ("{order-check.output.data.qty}", "order-check", ("output", "data", "qty")),
    ],
)
def test_whole_references(text: str, root: str, segments: tuple[str, ...]) -> None:
    assert parse_string(text) == ast.Ref(root, segments)


def test_function_reference() -> None:
    assert parse_string("{@string.concat}") == ast.FunctionRef("string.concat")


def test_interpolation_keeps_text_and_references_in_order() -> None:
    node = parse_string("Hello {a1.output.data.name}, you are {a1.output.data.age}!")
    assert node == ast.Interpolation(
        (
            "Hello ",
            ast.Ref("a1", ("output", "data", "name")),
            ", you are ",
            ast.Ref("a1", ("output", "data", "age")),
            "!",
        )
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("plain text", "plain text"),
        ("", ""),
        ('{"a": 1}', '{"a": 1}'),  # JSON text stays literal
        ("{ spaced }", "{ spaced }"),
        ("braces } alone", "braces } alone"),
        (r"\{a.b\}", "{a.b}"),  # escaped braces
        (r"C:\path\file", r"C:\path\file"),  # other backslashes are literal
        ("naïve — ünïcode ✓", "naïve — ünïcode ✓"),
    ],
)
def test_literals(text: str, value: str) -> None:
    assert parse_string(text) == ast.Literal(value)


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("{a.b", 5, "unclosed '{'"),
        ("{a..b}", 4, "empty path segment"),
        ("{a.}", 4, "empty path segment"),
        ("x {a.b.} y", 8, "empty path segment"),
        ("{@}", 3, "{@namespace.name}"),
        ("{@str}", 6, "{@namespace.name}"),
        ("{a b}", 3, "unexpected space"),
    ],
)
def test_syntax_errors_carry_column_and_caret(
    text: str, column: int, reason: str
) -> None:
    with pytest.raises(errors.ExpressionSyntaxError) as info:
        parse_string(text)
    assert info.value.column == column
    assert reason in info.value.reason
    caret_line = str(info.value).splitlines()[-1]
    assert caret_line.index("^") - 2 == column - 1  # two-space indent


def test_unknown_function_suggests_a_close_name() -> None:
    with pytest.raises(errors.UnknownFunctionError) as info:
        parse_string("{@string.concatt}")
    assert info.value.name == "string.concatt"
    assert "string.concat" in str(info.value)
