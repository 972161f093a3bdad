"""Render the @pipe function reference (Markdown) from the registry.

Regenerate the committed copy with
``python -m hotmesh.expr.functions.docs > docs/reference/functions.md``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from itertools import groupby

from hotmesh.expr import budget, regex
from hotmesh.expr.functions import registry
from hotmesh.expr.functions.registry import FunctionSpec

REGENERATE = "python -m hotmesh.expr.functions.docs > docs/reference/functions.md"

_HEADER = f"""\
# @pipe function reference

<!-- Generated from the function registry; do not edit. Regenerate with:
     {REGENERATE} -->

Call a function in a mapping as `{{@namespace.function}}`, or as the first cell of an
`@pipe` row whose other cells are its arguments. Functions follow JavaScript semantics:
loose coercion, `undefined` distinct from `null`, `NaN`. Arguments are positional; a
trailing `?` marks an optional one and `...` a variadic rest. *Impure* functions read
the clock or randomness, so their results change between calls.

## Evaluation budget

Expressions run inside a job's step, on the engine's event loop, so each evaluation of
a rule or map block has a budget (`hotmesh.expr.budget.LIMITS`; assign a
`budget.Limits(max_work=..., max_result=...)` to change it for the process):

| Limit | Default | Counts |
|---|---|---|
| `max_work` | {budget.LIMITS.max_work:,} | work units per evaluation, each about a nanosecond of CPU: at most about {budget.LIMITS.max_work // 1_000_000} ms of CPU |
| `max_result` | {budget.LIMITS.max_result:,} | size of one function's result: a string's characters, an array's or object's entries plus their own sizes, 1 for a number, boolean or null |

Work is charged *before* it is done, from the sizes of the values, never from a clock,
so the same expression on the same data passes or fails the same way on an idle or a
loaded machine. Each charge is the worst CPU time measured for that operation on a
2-core box (`python bench/expr_cost.py` finds, for each shape, the largest input that
fits and times it: 10 to 40 ms of CPU):

| Operation | Units |
|---|---|
| a function call | {budget.CALL:,} |
| a `@reduce` lap | {budget.LAP:,} |
| a node of a result measured (an entry, a number, a string) | {budget.NODE:,} |
| a character read or copied (slices, searches, case mapping) | {budget.CHAR:,} |
| an entry copied (`@array.slice`, `concat`, `reverse`, `splice`, `shift`, `unshift`) | {budget.COPY:,} |
| an entry visited in Python (`@array.indexOf`, `lastIndexOf`, `@object.keys`, `values`, `entries`, `get` of an array, …) | {budget.ENTRY:,} |
| a node read deeply (`String()` of an array, `@array.join`, loose equality, any function not listed above) | {budget.NODE + budget.DEEP:,} (`@json.stringify`: {budget.NODE + budget.STRINGIFY:,}) |
| a comparison of `@array.sort` (n log2 n of them; an array of strings only is sorted by keys, at {4 * budget.ENTRY:,} a string plus 100 a comparison) | {budget.COMPARE:,} |
| a character of `@json.parse` text | {budget.PARSE:,} |
| a part built by `@string.split` | {budget.PART:,} |
| a character outside the BMP (an emoji) in a text read by a `@string` function | {budget.ASTRAL:,} |

So one evaluation may, for example, run a `@reduce` of about 15,000 laps, or 7,000 laps
that each call a function; search an array of 80,000 entries; sort 8,000 strings;
join 30,000 numbers; split a text into 65,000 parts; parse about 200 KB of JSON. To
collect items in a `@reduce`, use `@array.push`, which costs what it adds:
`@array.concat` copies and measures the whole array on every lap.

`@string.repeat`, `@string.padStart`, `@string.padEnd` and `@string.concat` refuse a
result over `max_result` before building it. A job whose expression goes over the
budget fails at once with an `EvaluationError` naming the function and the limit
(`@array.indexOf: the expression exceeded its evaluation budget of 40,000,000 work
units (max_work, about 40 ms of CPU ...`, or `@string.concat: result larger than the
evaluation budget of ...`); it is not retried. Upstream HotMesh has no such budget
(JavaScript's own limit is a string of about 1 GB).

## Regular expressions

`@string.search` runs its pattern on RE2 (`google-re2`), which matches in time linear
in the text whatever the pattern, so no pattern can stall the engine (`(a+)+$` on
`"aaa…b"` takes as long as reading the text). Upstream runs JavaScript's backtracking
engine; the differences:

- backreferences (`\\1`, `\\k<name>`) and lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`) are
  errors (`EvaluationError: @string.search: invalid regular expression ...`);
- `\\cX` escapes and the empty class `[^]` are errors (`[\\s\\S]` matches any character);
- `\\s` matches ASCII whitespace only (JavaScript's also matches U+00A0, U+2028 and
  other Unicode spaces); `\\d`, `\\w` and `\\b` are ASCII, as in JavaScript;
- `\\uXXXX` works; `\\p{{L}}` is a Unicode class (JavaScript reads it only with the `u` flag);
- patterns longer than {regex.MAX_PATTERN_LENGTH:,} characters, or that compile to more than
  {regex.MAX_PROGRAM_SIZE:,} RE2 instructions (nested counted repetitions such as
  `(x{{1,30}}){{1,30}}` multiply; real patterns take tens to a few hundred), are refused:
  matching is linear in the text times the program's size.
"""


def _arguments(spec: FunctionSpec) -> str:
    """``(s, delimiter?, limit?)``: the first ``arity[0]`` parameters are required."""
    low = spec.arity[0]
    parts: list[str] = []
    for i, param in enumerate(inspect.signature(spec.fn).parameters.values()):
        # Python names are snake_case; the catalogue speaks JavaScript's camelCase.
        name = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), param.name)
        if param.kind is param.VAR_POSITIONAL:
            parts.append(f"...{name}")
        else:
            parts.append(name + ("" if i < low else "?"))
    return f"({', '.join(parts)})"


def _arity(spec: FunctionSpec) -> str:
    low, high = spec.arity
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}–{high}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _namespace_doc(spec: FunctionSpec) -> str:
    module = importlib.import_module(spec.fn.__module__)
    doc = inspect.getdoc(module) or ""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ")
    summary = re.sub(r"^@\w+:\s*", "", summary)  # the heading already names it
    return summary[:1].upper() + summary[1:]


def _namespace(name: str, specs: list[FunctionSpec]) -> list[str]:
    lines = [f"## @{name}", ""]
    intro = _namespace_doc(specs[0])
    if intro:
        lines += [intro, ""]
    lines += [
        "| Function | Arguments | Arity | Description |",
        "|---|---|---|---|",
    ]
    for spec in specs:
        text = spec.doc
        if not spec.pure:
            text += " *Impure.*"
        if spec.note:
            text += f" **Note:** {spec.note}"
        lines.append(
            f"| `{spec.name}` | `{_arguments(spec)}` | {_arity(spec)} | {_cell(text)} |"
        )
    return [*lines, ""]


def render_reference() -> str:
    """The whole reference: one section per namespace, functions sorted by name."""
    specs = [spec for name in registry.names() if (spec := registry.lookup(name))]
    lines = [_HEADER]
    for namespace, group in groupby(specs, key=lambda s: s.name.split(".", 1)[0]):
        lines += _namespace(namespace, list(group))
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_reference(), end="")
