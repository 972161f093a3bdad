"""Catastrophic regular expressions (issue 20 §3): generated nested quantifiers,
overlapping alternations and repeated wildcards over adversarial text.

Every pattern either matches in time linear in the text (RE2) or is refused with
an ``EvaluationError`` naming ``@string.search``; nothing else escapes and no
call takes long. CI runs 300 patterns; ``HOTMESH_LONG=1`` runs 5,000.
"""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from hotmesh import errors
from tests.fuzz.runs import examples
from tests.long import sized
from tests.unit.expr.functions._call import call

PATTERNS = sized(300, 5000)

atoms = st.sampled_from(
    ["a", "aa", ".", "\\w", "\\s", "[a-z]", "[^b]", "\\d", "x", "(?:a|a)", "(a|aa)"]
)
quantifiers = st.sampled_from(["*", "+", "?", "{2,}", "{1,30}", "*?", "+?", ""])


@st.composite
def nested(draw: st.DrawFn, depth: int = 4) -> str:
    """``((a+)+)+``-shaped patterns: the classic exponential backtrackers."""
    if depth == 0 or draw(st.booleans()):
        return draw(atoms) + draw(quantifiers)
    inner = "".join(draw(st.lists(nested(depth - 1), min_size=1, max_size=3)))
    alternative = draw(st.sampled_from(["", "|" + inner]))
    return "(" + inner + alternative + ")" + draw(quantifiers)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    anchors = draw(st.sampled_from([("", ""), ("^", "$"), ("", "$"), ("^", "!")]))
    body = draw(nested())
    # Sometimes a backtracking-only form: RE2 refuses it with a clear error.
    extra = draw(st.sampled_from(["", "", "", "\\1", "(?=a)", "(?<!b)"]))
    return anchors[0] + body + extra + anchors[1]


texts = st.builds(
    lambda char, n, tail: char * n + tail,
    st.sampled_from(["a", "x", " ", "ab", "aa!"]),
    st.integers(1000, 200_000),
    st.sampled_from(["", "b", "!", "\n", "\u00e9"]),
)


@examples(PATTERNS)
@given(pattern=patterns(), text=texts)
def test_no_pattern_stalls_a_search(pattern: str, text: str) -> None:
    started = time.perf_counter()
    try:
        result = call("string.search", text, pattern)
    except errors.EvaluationError as exc:
        assert "@string.search: invalid regular expression" in str(exc) or (
            "too complex" in str(exc)
        )
    else:
        assert isinstance(result, int) and -1 <= result <= len(text)
    # Backtracking engines take minutes to hours on many of these; the bound is
    # generous (2 shared cores) and only catches a non-linear engine.
    assert time.perf_counter() - started < 2.0, pattern
