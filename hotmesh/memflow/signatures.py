"""Declared types of workflow, activity and handler functions, and the
conversion of their arguments and results (with the data converter).

Arguments are converted position by position into the types the parameters
declare; a value that cannot be converted names the parameter. A function
whose hints cannot be resolved takes its values as stored.
"""

from __future__ import annotations

import inspect
import weakref
from collections import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from hotmesh.memflow.converter import DataConverter, _hints

#: set by ``@defn`` on its workflow function: the class's ``@run`` method,
#: whose parameters (after ``self``) and return type are the workflow's
TYPED = "__memflow_typed__"


@dataclass(frozen=True)
class Signature:
    """The positional parameters (name, hint), ``*args`` and the return type."""

    params: tuple[tuple[str, Any], ...] = ()
    rest: tuple[str, Any] | None = None
    returns: Any = Any

    def hint(self, index: int) -> tuple[str, Any]:
        """The name and type of positional argument ``index`` (0-based)."""
        if index < len(self.params):
            return self.params[index]
        if self.rest is not None:
            return self.rest
        return (f"#{index + 1}", Any)


UNTYPED = Signature()
#: by function, then by the leading parameters dropped (``self``): reading
#: hints is slow, and a replay decodes every recorded handler call again
_CACHE: weakref.WeakKeyDictionary[Any, dict[int, Signature]] = (
    weakref.WeakKeyDictionary()
)


def _awaited(hint: Any) -> Any:
    """``Awaitable[X]``/``Coroutine[..., X]`` -> ``X`` (a plain def returning one)."""
    if get_origin(hint) in (abc.Awaitable, abc.Coroutine):
        args = get_args(hint)
        return args[-1] if args else Any
    return hint


def signature(fn: Callable[..., Any] | None) -> Signature:
    """``fn``'s declared types (``UNTYPED`` for None or an unreadable function)."""
    if fn is None:
        return UNTYPED
    target: Any = getattr(fn, TYPED, None)
    drop = 1 if target is not None else 0
    if target is None:
        target = fn
    if inspect.ismethod(target):
        target, drop = target.__func__, drop + 1
    # a method (drop > 0): its function's signature without ``self``
    try:
        known = _CACHE.get(target)
    except TypeError:  # not weak-referenceable (a builtin): not cached
        return _read(target, drop)
    if known is None:
        known = _CACHE[target] = {}
    sig = known.get(drop)
    if sig is None:
        sig = known[drop] = _read(target, drop)
    return sig


def _read(fn: Any, drop: int) -> Signature:
    try:
        params = list(inspect.signature(fn).parameters.values())[drop:]
    except (TypeError, ValueError):
        return UNTYPED
    owner = str(getattr(fn, "__qualname__", "")).rpartition(".")[0]
    if not drop and params and params[0].name == "self" and owner:
        if not owner.endswith("<locals>"):  # a method taken from its class
            params = params[1:]
    hints = _hints(fn)
    positional = tuple(
        (p.name, hints.get(p.name, Any))
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )
    rest = next(
        (
            (p.name, hints.get(p.name, Any))
            for p in params
            if p.kind is p.VAR_POSITIONAL
        ),
        None,
    )
    return Signature(positional, rest, _awaited(hints.get("return", Any)))


def encode_args(
    conv: DataConverter, fn: Callable[..., Any] | None, args: list[Any], what: str
) -> list[Any]:
    """Arguments as JSON; an error names the argument (by parameter when known)."""
    sig = signature(fn)
    return [
        conv.to_json(value, f"{what} argument '{sig.hint(i)[0]}'")
        for i, value in enumerate(args)
    ]


def decode_args(
    conv: DataConverter, fn: Callable[..., Any] | None, args: list[Any], what: str
) -> list[Any]:
    """Stored arguments as the types ``fn``'s parameters declare."""
    sig = signature(fn)
    out = []
    for i, value in enumerate(args):
        name, hint = sig.hint(i)
        out.append(conv.from_json(value, hint, f"{what} argument '{name}'"))
    return out


def decode_result(
    conv: DataConverter, fn: Callable[..., Any] | None, value: Any, what: str
) -> Any:
    """A stored result as the type ``fn`` declares it returns."""
    return conv.from_json(value, signature(fn).returns, f"{what} result")
