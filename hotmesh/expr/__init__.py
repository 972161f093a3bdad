"""The mapping-expression language: parse once at compile time, evaluate fast.

Public API (see docs/architecture.md):

- :func:`compile` a mapping value (string, number, ``@pipe`` object, nested
  dict/list) into a :class:`Rule`;
- :func:`compile_map` a map block (``input.maps``, ``job.maps``, …) into a
  :class:`MapRule`;
- :func:`resolve` a value against a job context in one call.

Strings: a whole ``{ref}`` keeps the referenced value's type; ``{@ns.fn}`` is a
nullary call; ``'Hello {a.output.data.name}!'`` interpolates (an extension:
upstream keeps such strings literal) with JS ``String()`` except that
undefined prints as nothing; ``\\{`` and ``\\}`` are literal braces; a
``{`` not followed by ``@``, ``$`` or a word character is literal text, so JSON
text like ``'{"a": 1}'`` stays a string (upstream resolves it to undefined).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from hotmesh.expr.js import UNDEFINED
from hotmesh.expr.rules import MapRule, Rule, compile, compile_map

__all__ = ["UNDEFINED", "MapRule", "Rule", "compile", "compile_map", "resolve"]


def resolve(value: Any, context: Mapping[str, Any]) -> Any:
    """Evaluate a mapping value against a job context (compiled forms are cached)."""
    if isinstance(value, str):
        return _compiled_string(value).evaluate(context)
    return compile(value).evaluate(context)


@lru_cache(maxsize=2048)
def _compiled_string(value: str) -> Rule:
    return compile(value)
