"""@json: JSON.stringify and JSON.parse with JavaScript's output conventions."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from hotmesh import errors
from hotmesh.expr import budget
from hotmesh.expr.functions.math import narrow
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED, number_to_string, to_integer, to_string

#: Deepest value @json.parse returns (job data holds values up to 128 levels,
#: and a parsed value sits a few levels down in an activity's output).
MAX_DEPTH = 100
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _quote(text: str) -> str:
    # Well-formed JSON.stringify escapes lone surrogates instead of emitting them raw.
    quoted = json.dumps(text, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


class _Room:
    """Characters ``JSON.stringify`` may still write: indentation multiplies a deep
    value's size, so the budget is checked while building, not after."""

    __slots__ = ("left",)

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise errors.EvaluationError(
                "@json.stringify: result longer than the evaluation budget of "
                f"{budget.LIMITS.max_result:,} characters"
            )


def stringify_value(
    value: Any, indent: str = "", level: int = 0, room: _Room | None = None
) -> Any:
    """``JSON.stringify(value)``; UNDEFINED at the top level gives UNDEFINED."""
    if room is None:
        room = _Room(budget.LIMITS.max_result)
    if value is UNDEFINED or callable(value):
        return UNDEFINED
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_string(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        room.take(len(value) + 2)
        return _quote(value)
    pad = "\n" + indent * (level + 1) if indent else ""
    close = "\n" + indent * level if indent else ""
    sep = ":" + (" " if indent else "")
    if isinstance(value, list):
        if not value:
            return "[]"
        room.take(len(value) * (len(pad) + 1) + len(close))
        items = [stringify_value(v, indent, level + 1, room) for v in value]
        body = ("," + pad).join("null" if i is UNDEFINED else i for i in items)
        return f"[{pad}{body}{close}]"
    if isinstance(value, dict):
        room.take(len(value) * (len(pad) + len(sep) + 3) + len(close))
        pairs = []
        for key, item in value.items():
            text = stringify_value(item, indent, level + 1, room)
            if text is not UNDEFINED:
                room.take(len(key))
                pairs.append(_quote(str(key)) + sep + text)
        if not pairs:
            return "{}"
        return "{" + pad + ("," + pad).join(pairs) + close + "}"
    return json.dumps(to_string(value))


@register(
    "json.stringify",
    (1, 3),
    "JSON text of the value (`space` indents); undefined stays undefined.",
    note="The `replacer` argument is ignored.",
)
def stringify(
    value: Any = UNDEFINED, replacer: Any = UNDEFINED, space: Any = UNDEFINED
) -> Any:
    indent = ""
    if isinstance(space, int | float) and not isinstance(space, bool):
        indent = " " * int(max(0, min(10, to_integer(space))))
    elif isinstance(space, str):
        indent = space[:10]
    return stringify_value(value, indent)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"unexpected token {name}")


def _number(text: str) -> int | float:
    # JSON numbers are doubles in JS: '1.0' is 1 and a 20-digit integer loses precision.
    if len(text) <= 15 and text.lstrip("-").isdigit():
        return int(text)
    return narrow(float(text))


@register(
    "json.parse",
    (1, 2),
    "Value of the JSON text; invalid JSON is an error.",
    note="The `reviver` argument is ignored.",
)
def parse(text: Any = UNDEFINED, reviver: Any = UNDEFINED) -> Any:
    source = to_string(text)
    try:
        value = json.loads(
            source,
            parse_constant=_reject_constant,
            parse_int=_number,
            parse_float=_number,
        )
    except (ValueError, RecursionError) as exc:
        raise errors.EvaluationError(
            f"@json.parse: invalid JSON {source[:40]!r}: {exc}"
        ) from None
    if _nesting(source) > MAX_DEPTH:
        # 900 nested arrays parse, but no step could copy or store them: the job
        # retried, then stayed "running" (issue 20 §4). Refused here, naming why.
        raise errors.EvaluationError(
            f"@json.parse: JSON nested deeper than {MAX_DEPTH} levels cannot be "
            "stored in a job"
        )
    return value


#: a JSON string (escapes included), and the brackets outside strings
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _nesting(text: str) -> int:
    """Deepest nesting of arrays and objects in valid JSON ``text``, counted on
    the text at C speed (walking the parsed value cost a Python step a node)."""
    brackets = _BRACKETS.findall(_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)
