"""A @pipe row that applies its first cell must start with a function
reference (or a bare scope variable): anything else is refused when the
manifest compiles, with file:line:col, where upstream throws at run time."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import compiler, errors, expr

REFUSED: list[tuple[list[Any], tuple[Any, ...]]] = [
    # a reference, a literal string, a number, null, an object in function position
    ([["{a.b}"], ["{a.c}"]], ("@pipe", 1, 0)),
    ([["{a.b}"], ["upper", 1]], ("@pipe", 1, 0)),
    ([["{a.b}", 2], [3]], ("@pipe", 1, 0)),
    ([["{a.b}"], [None]], ("@pipe", 1, 0)),
    ([["{a.b}"], [{"k": 1}]], ("@pipe", 1, 0)),
    ([["{a.b}"], ["x {a.b}"]], ("@pipe", 1, 0)),
    # an empty row where a function is expected
    ([["{a.b}"], []], ("@pipe", 1)),
    # after nested pipes, the next list row applies its head to their results
    ([{"@pipe": [["{a.b}"]]}, {"@pipe": [[1]]}, ["{a.c}"]], ("@pipe", 2, 0)),
    # a @reduce body has no row of values: its first list row applies too,
    # and only a bare scope variable may stand there
    ([["{xs}", 0], {"@reduce": [["{$item.n}"]]}], ("@pipe", 1, "@reduce", 0, 0)),
    ([["{xs}", 0], {"@reduce": [[7]]}], ("@pipe", 1, "@reduce", 0, 0)),
    # deeper: a nested pipe's own second row
    ([{"@pipe": [["{a.b}"], ["{a.c}"]]}, ["{@string.concat}"]], ("@pipe", 0, "@pipe", 1, 0)),
]  # fmt: skip

ACCEPTED: list[list[Any]] = [
    [["{a.b}", 1], ["{@math.add}"]],
    [["{a.b}"], ["{@string.split}", " "], ["{@array.get}", 0]],
    [{"@pipe": [["{a.b}"]]}, {"@pipe": [[1]]}, ["{@math.add}"]],
    [["{xs}", 0], {"@reduce": [["{$index}"]]}],
    [["{xs}", 0], {"@reduce": [["{$item}"], ["{@math.add}"]]}],
    [["{xs}", 0], {"@reduce": [{"@pipe": [["{$output}"]]}, {"@pipe": [["{$item}"]]}, ["{@math.add}"]]}],
    [["{xs}", []], {"@reduce": [["{$output}"], ["{@array.push}", "{$item}"]]}],
    [[]],  # one (empty) row of values
    [{"@reduce": [["{@math.add}"]]}, ["{a.b}"]],  # nothing before: values
]  # fmt: skip


@pytest.mark.parametrize(("rows", "path"), REFUSED)
def test_a_row_without_a_function_head_is_refused(
    rows: list[Any], path: tuple[Any, ...]
) -> None:
    with pytest.raises(
        errors.ExpressionError, match="not a function reference"
    ) as info:
        expr.compile({"@pipe": rows})
    assert info.value.path == path


@pytest.mark.parametrize("rows", ACCEPTED)
def test_function_and_scope_heads_compile(rows: list[Any]) -> None:
    expr.compile({"@pipe": rows})


def test_the_manifest_error_names_file_line_and_column() -> None:
    text = """app:
  id: heads
  version: '1'
  graphs:
    - subscribes: heads
      activities:
        t:
          type: trigger
          job:
            maps:
              name:
                '@pipe':
                  - ['{t.output.data.first}', ' ']
                  - ['{t.output.data.last}']
"""
    with pytest.raises(errors.ManifestValidationError) as info:
        compiler.compile_source(text)
    (problem,) = info.value.problems
    assert (problem.line, problem.col) == (14, 22)
    assert problem.pointer.endswith("/job/maps/name/@pipe/1/0")
    assert "'{t.output.data.last}' is not a function reference" in problem.message
    assert f"{problem.line}:{problem.col}" in str(info.value)
