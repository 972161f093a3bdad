"""Regular expressions for the catalogue, on a linear-time engine (RE2).

A backtracking engine (Python's ``re``, JavaScript's V8) can take exponential
time on patterns such as ``(a+)+$``: one job's pattern over a few kilobytes of
its data blocked the event loop, and every other job, for minutes. RE2
(``google-re2``) matches in time linear in the text, whatever the pattern, so
no pattern can stall the loop. The price is a few JavaScript forms RE2 does
not have; they are refused with an error naming the pattern (see
``docs/reference/functions.md``):

* backreferences (``\\1``, ``\\k<name>``) and lookaround (``(?=``, ``(?!``,
  ``(?<=``, ``(?<!``) — exactly the forms that need backtracking;
* ``\\cX`` control escapes and the empty class ``[^]``.

``\\uXXXX`` is accepted (rewritten to RE2's ``\\x{XXXX}``). ``\\d``, ``\\w``
and ``\\b`` are ASCII, as in JavaScript; ``\\s`` is ASCII whitespace only
(JavaScript's also matches Unicode spaces such as U+00A0).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from hotmesh import errors

#: Longest pattern compiled (a pattern is code, not data: 10,000 is far above any).
MAX_PATTERN_LENGTH = 10_000
#: Memory RE2 may use for one compiled pattern; larger programs are refused.
MAX_PROGRAM_MEMORY = 8 << 20
#: RE2 instructions of one pattern. Matching is linear in the text, times the
#: program size when RE2 falls back from its DFA: ``((a*)*){1,30}`` nested in
#: another ``{1,30}`` compiles to 18,000 instructions and took 108 s on 1 MB.
#: Real patterns take tens to a few hundred.
MAX_PROGRAM_SIZE = 1_000

_HEX = frozenset("0123456789abcdefABCDEF")
_LONE_SURROGATE_FREE = str.maketrans({c: "\ufffd" for c in range(0xD800, 0xE000)})


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.max_mem = MAX_PROGRAM_MEMORY
    # Only the match's start is needed: without captures RE2 stays on its DFA.
    options.never_capture = True
    return options


def _translate(source: str) -> str:
    """JavaScript escapes RE2 spells differently: ``\\uXXXX`` -> ``\\x{XXXX}``."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            nxt = source[i + 1]
            hexa = source[i + 2 : i + 6]
            if nxt == "u" and len(hexa) == 4 and all(c in _HEX for c in hexa):
                out.append("\\x{" + hexa + "}")
                i += 6
                continue
            out.append(source[i : i + 2])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_pattern(source: str, function: str) -> Any:
    """The RE2 program of a JavaScript pattern; ``EvaluationError`` naming it if refused."""
    if len(source) > MAX_PATTERN_LENGTH:
        raise errors.EvaluationError(
            f"@{function}: regular expression of {len(source)} characters is longer "
            f"than {MAX_PATTERN_LENGTH}"
        )
    try:
        compiled = re2.compile(_translate(source), _options())
    except (re2.error, UnicodeError) as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise errors.EvaluationError(
            f"@{function}: invalid regular expression {source[:80]!r}: {reason} "
            "(patterns run on RE2, which has no backreferences or lookaround)"
        ) from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise errors.EvaluationError(
            f"@{function}: regular expression {source[:80]!r} is too complex: "
            f"{compiled.programsize} RE2 instructions (at most {MAX_PROGRAM_SIZE}; "
            "nested counted repetitions such as (x{1,30}){1,30} multiply)"
        )
    return compiled


def search(source: str, text: str, function: str) -> int | None:
    """Code-point index of the first match of ``source`` in ``text``, or None."""
    pattern = compile_pattern(source, function)
    # RE2 reads UTF-8, which cannot hold a lone surrogate; U+FFFD keeps the
    # code-point positions (and matches nothing a surrogate would have matched).
    if not text.isascii():
        text = text.translate(_LONE_SURROGATE_FREE)
    match = pattern.search(text)
    return None if match is None else int(match.start())
