"""The @pipe function registry: name → callable, arity and one-line doc."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Fn = Callable[..., Any]


@dataclass(frozen=True)
class FunctionSpec:
    """One catalogue entry, e.g. ``string.concat``.

    ``arity`` is ``(min, max)``; ``max`` is None for variadic functions.
    ``doc`` is one line; ``note`` says where we deliberately differ from upstream.
    ``pure`` is False for functions that read the clock or randomness.
    """

    name: str
    fn: Fn
    arity: tuple[int, int | None]
    doc: str
    note: str = ""
    pure: bool = True

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


REGISTRY: dict[str, FunctionSpec] = {}


def register(
    name: str,
    arity: tuple[int, int | None],
    doc: str,
    *,
    note: str = "",
    pure: bool = True,
) -> Callable[[Fn], Fn]:
    """Decorator: add ``fn`` to the catalogue as ``name`` (``namespace.function``)."""

    def wrap(fn: Fn) -> Fn:
        if name in REGISTRY:
            raise ValueError(f"function @{name} registered twice")
        REGISTRY[name] = FunctionSpec(name, fn, arity, doc, note, pure)
        return fn

    return wrap


def lookup(name: str) -> FunctionSpec | None:
    """The spec for ``name`` (``string.concat``), or None."""
    _load_all()
    return REGISTRY.get(name)


def names() -> list[str]:
    """Every registered function name, sorted."""
    _load_all()
    return sorted(REGISTRY)


_loaded = False


def _load_all() -> None:
    # Importing the namespace modules runs their @register decorators.
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    import pkgutil

    from hotmesh.expr import functions

    for info in pkgutil.iter_modules(functions.__path__):
        if info.name != "registry":
            importlib.import_module(f"hotmesh.expr.functions.{info.name}")
