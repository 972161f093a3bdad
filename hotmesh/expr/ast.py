"""Frozen syntax nodes of mapping expressions (what the parser produces)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant JSON value."""

    value: Any


@dataclass(frozen=True, slots=True)
class Ref:
    """A data reference ``{root.seg.seg}``; ``root`` may be a ``$`` variable."""

    root: str
    segments: tuple[str, ...]

    @property
    def dotted(self) -> str:
        """The reference as written, without braces."""
        return ".".join((self.root, *self.segments))


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A function reference ``{@namespace.name}``."""

    name: str


@dataclass(frozen=True, slots=True)
class Interpolation:
    """Text with embedded expressions: ``'Hello {a.output.data.name}!'``."""

    parts: tuple[str | Ref | FunctionRef, ...]


@dataclass(frozen=True, slots=True)
class Pipe:
    """An ``@pipe``: rows of cells, sub-pipes and reduces."""

    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Reduce:
    """An ``@reduce`` row: its body is evaluated once per collection item."""

    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Cells:
    """A plain pipe row: values, or an operator followed by values."""

    cells: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ObjectNode:
    """A nested object whose values are expressions (map-block semantics)."""

    items: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class ListNode:
    """A list whose items are expressions."""

    items: tuple[Node, ...]


Row = Cells | Pipe | Reduce
Node = Literal | Ref | FunctionRef | Interpolation | Pipe | ObjectNode | ListNode
