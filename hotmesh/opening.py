"""``Opening``: what a connecting factory returns, awaited or used with ``async with``.

``hm = await HotMesh.init(...)`` and ``async with HotMesh.init(...) as hm:``
both work (no ``async with await``): the factory returns this object, which
runs the connecting coroutine when awaited or entered, and stops what it
opened when the ``async with`` block ends.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from typing import Any, Generic, Protocol, TypeVar


class Stoppable(Protocol):
    """Something with an async ``stop()`` (whatever it returns)."""

    async def stop(self) -> Any: ...


T = TypeVar("T", bound=Stoppable)


class Opening(Generic[T]):
    """An opening connection: ``await`` it for the object, or ``async with`` it."""

    def __init__(self, opener: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self._opener = opener
        self._opened: T | None = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._opener().__await__()

    async def __aenter__(self) -> T:
        self._opened = await self._opener()
        return self._opened

    async def __aexit__(self, *exc: object) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            await opened.stop()


__all__ = ["Opening", "Stoppable"]
