"""JavaScript strings are UTF-16: every catalogue function that measures or
indexes a string counts code units, so a character outside the Basic
Multilingual Plane (an emoji) counts two, and cutting it in half leaves a lone
surrogate, exactly as in JavaScript.

Expected values are what Node prints for the same call.
"""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import expr
from hotmesh.expr import UNDEFINED
from hotmesh.expr.js import code_units, from_code_units, length
from tests.unit.expr.functions._call import call, same

SMILE = "😀"  # U+1F600: two code units, "\ud83d\ude00"
HI, LO = "\ud83d", "\ude00"
MUSIC = "𝄞"  # U+1D11E, another astral character

CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    # split('') splits code units; other delimiters match whole characters
    ("string.split", (SMILE, ""), [HI, LO]),
    ("string.split", (f"a{SMILE}b", ""), ["a", HI, LO, "b"]),
    ("string.split", (f"a{SMILE}b{SMILE}c", SMILE), ["a", "b", "c"]),
    ("string.split", (f"a{SMILE}b", "", 2), ["a", HI]),
    # charAt: the unit at the index
    ("string.charAt", (f"{SMILE}x", 0), HI),
    ("string.charAt", (f"{SMILE}x", 1), LO),
    ("string.charAt", (f"{SMILE}x", 2), "x"),
    ("string.charAt", (f"{SMILE}x", 3), ""),
    # indexOf / lastIndexOf / includes: positions in units
    ("string.indexOf", (f"{SMILE}x", "x"), 2),
    ("string.indexOf", (f"{SMILE}x{SMILE}x", "x", 3), 5),
    ("string.indexOf", (f"a{SMILE}", SMILE), 1),
    ("string.indexOf", (f"a{SMILE}", LO), 2),
    ("string.lastIndexOf", (f"x{SMILE}x", "x"), 3),
    ("string.lastIndexOf", (f"x{SMILE}x", "x", 2), 0),
    ("string.lastIndexOf", (f"{SMILE}{SMILE}", SMILE), 2),
    ("string.includes", (f"{SMILE}x", "x", 2), True),
    ("string.includes", (f"{SMILE}x", "x", 3), False),
    ("string.includes", (f"{SMILE}x", SMILE, 1), False),
    # startsWith position / endsWith length
    ("string.startsWith", (f"{SMILE}x", "x", 2), True),
    ("string.startsWith", (f"{SMILE}x", "x", 1), False),
    ("string.endsWith", (f"{SMILE}x", SMILE, 2), True),
    ("string.endsWith", (f"{SMILE}x", SMILE, 1), False),
    # slice / substring: unit indexes; half an emoji stays a lone surrogate
    ("string.slice", (f"a{SMILE}b", 1, 3), SMILE),
    ("string.slice", (f"a{SMILE}b", 1, 2), HI),
    ("string.slice", (f"a{SMILE}b", 2), f"{LO}b"),
    ("string.slice", (f"a{SMILE}b", -2), f"{LO}b"),
    ("string.slice", (f"a{SMILE}b", -3, -1), SMILE),
    ("string.substring", (f"a{SMILE}b", 1, 3), SMILE),
    ("string.substring", (f"a{SMILE}b", 3, 1), SMILE),
    ("string.substring", (f"a{SMILE}b", 2), f"{LO}b"),
    ("string.substring", (f"{MUSIC}{SMILE}", 2, 4), SMILE),
    # padStart / padEnd: the target length counts units
    ("string.padStart", (SMILE, 3), f" {SMILE}"),
    ("string.padStart", (SMILE, 2), SMILE),
    ("string.padEnd", (f"{SMILE}a", 5, "-"), f"{SMILE}a--"),
    ("string.padStart", ("ab", 5, SMILE), f"{SMILE}{HI}ab"),
    ("string.padEnd", ("ab", 6, SMILE), f"ab{SMILE}{SMILE}"),
    ("string.padEnd", ("", 1, MUSIC), "\ud834"),
    # search: the index of the match in units
    ("string.search", (f"{SMILE}{SMILE}x", "x"), 4),
    ("string.search", (f"{SMILE}ab", "b"), 3),
    # .length wherever the catalogue reads it
    ("object.get", (f"a{SMILE}", "length"), 3),
    ("object.get", (SMILE, "0"), HI),
    ("object.get", (SMILE, "1"), LO),
    ("object.get", (SMILE, "2"), UNDEFINED),
    ("object.keys", (f"a{SMILE}",), ["0", "1", "2"]),
    ("object.values", (SMILE,), [HI, LO]),
    ("object.entries", (SMILE,), [["0", HI], ["1", LO]]),
    ("object.getOwnPropertyNames", (SMILE,), ["0", "1", "length"]),
    ("object.hasOwnProperty", (SMILE, "1"), True),
    ("object.hasOwnProperty", (SMILE, "2"), False),
    ("array.length", (f"a{SMILE}",), 3),
    ("array.length", (MUSIC * 3,), 6),
    ("array.get", (SMILE, 1), LO),
    ("array.get", (f"{SMILE}x", 2), "x"),
    ("array.get", (SMILE, 2), UNDEFINED),
]


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_counts_utf16_code_units(
    name: str, args: tuple[Any, ...], expected: Any
) -> None:
    result = call(name, *args)
    assert same(result, expected), f"@{name}{args!r} = {result!r}, want {expected!r}"


@pytest.mark.parametrize(
    "name",
    [
        "string.split", "string.charAt", "string.indexOf", "string.lastIndexOf",
        "string.includes", "string.startsWith", "string.endsWith", "string.slice",
        "string.substring", "string.padStart", "string.padEnd", "string.search",
        "object.get", "object.keys", "object.getOwnPropertyNames", "array.length",
        "array.get",
    ],
)  # fmt: skip
def test_every_measuring_function_is_covered(name: str) -> None:
    assert any(case[0] == name for case in CASES), f"no UTF-16 case for @{name}"


def test_bmp_text_is_unchanged() -> None:
    # Accented and CJK characters are one unit each, as in JavaScript.
    assert call("string.slice", "héllo", 1, 3) == "él"
    assert call("string.padStart", "日本", 4, "*") == "**日本"
    assert call("array.length", "日本語") == 3


def test_padded_text_with_an_emoji_has_the_javascript_length() -> None:
    # The bug this guards: a padded emoji one character too long.
    padded = call("string.padEnd", f"{SMILE}", 4, ".")
    assert padded == f"{SMILE}.." and length(padded) == 4


def test_code_unit_helpers_round_trip() -> None:
    for text in ["", "abc", SMILE, f"a{SMILE}{MUSIC}b", "é日"]:
        assert from_code_units(code_units(text)) == text
        assert len(code_units(text)) == length(text)
    assert length(SMILE) == 2 and length(MUSIC) == 2 and length("é") == 1
    assert from_code_units(HI) == HI  # a lone half stays as it is


def test_reference_paths_do_not_step_into_strings() -> None:
    ctx = {"a": {"output": {"data": {"s": SMILE, "n": 5, "b": True, "l": [1, 2]}}}}
    for path in ("s.length", "s.0", "n.length", "b.x"):
        assert expr.resolve(f"{{a.output.data.{path}}}", ctx) is UNDEFINED, path
    assert expr.resolve("{a.output.data.l.length}", ctx) == 2  # arrays: own length
    assert expr.resolve("{a.output.data.l.1}", ctx) == 2
