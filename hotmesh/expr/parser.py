"""Parse manifest values into expression nodes (strings via the Lark grammar)."""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedEOF, UnexpectedInput

from hotmesh import errors, resources
from hotmesh.expr import ast
from hotmesh.expr.functions import registry


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.package_file("hotmesh.expr", "grammar.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", start="start")


def parse_string(
    text: str,
) -> ast.Literal | ast.Ref | ast.FunctionRef | ast.Interpolation:
    """Parse one string value: a literal, a whole reference, a function or text.

    Raises:
        ExpressionSyntaxError: the text has a malformed ``{...}``.
        UnknownFunctionError: a ``{@ns.fn}`` is not in the catalogue.
    """
    if "{" not in text and "\\" not in text:
        return ast.Literal(text)
    return _parse_cached(text)


@lru_cache(maxsize=4096)
def _parse_cached(
    text: str,
) -> ast.Literal | ast.Ref | ast.FunctionRef | ast.Interpolation:
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    parts: list[str | ast.Ref | ast.FunctionRef] = []
    for child in tree.children:
        assert isinstance(child, Tree)
        if child.data == "text":
            _append_text(parts, str(child.children[0]))
        elif child.data == "escaped":
            _append_text(parts, str(child.children[0])[1])
        else:
            parts.append(_expression(child, text))
    if not parts:
        return ast.Literal("")
    if len(parts) == 1:
        only = parts[0]
        return ast.Literal(only) if isinstance(only, str) else only
    if all(isinstance(p, str) for p in parts):
        return ast.Literal("".join(p for p in parts if isinstance(p, str)))
    return ast.Interpolation(tuple(parts))


def _append_text(parts: list[str | ast.Ref | ast.FunctionRef], text: str) -> None:
    if parts and isinstance(parts[-1], str):
        parts[-1] += text
    else:
        parts.append(text)


def _expression(node: Tree[Any], text: str) -> ast.Ref | ast.FunctionRef:
    inner = node.children[1]
    assert isinstance(inner, Tree)
    tokens = [str(t) for t in inner.children if isinstance(t, Token)]
    if inner.data == "function":
        name = ".".join(tokens)
        if registry.lookup(name) is None:
            close = difflib.get_close_matches(name, registry.names(), n=1)
            raise errors.UnknownFunctionError(
                name, _column_of(text, "{@" + name), close[0] if close else ""
            )
        return ast.FunctionRef(name)
    return ast.Ref(tokens[0], tuple(tokens[1:]))


def _column_of(text: str, needle: str) -> int:
    return text.find(needle) + 1


def _syntax_error(text: str, exc: UnexpectedInput) -> errors.ExpressionSyntaxError:
    column = getattr(exc, "column", 0) or 0
    token = getattr(exc, "token", None)
    at_end = isinstance(exc, UnexpectedEOF) or getattr(token, "type", "") == "$END"
    if at_end or column <= 0 or column > len(text):
        return errors.ExpressionSyntaxError(
            text, len(text) + 1, "unclosed '{' (missing '}')"
        )
    char = text[column - 1]
    before = text[column - 2] if column >= 2 else ""
    opened = text.rfind("{", 0, column)
    in_function = opened >= 0 and text[opened + 1 : opened + 2] == "@"
    if before == "." and char in ".}":
        reason = "empty path segment"
    elif in_function:
        reason = "a function is written {@namespace.name}"
    elif char.isspace():
        reason = "unexpected space inside '{...}'"
    else:
        reason = f"unexpected character {char!r}"
    return errors.ExpressionSyntaxError(text, column, reason)
