"""Collect located Problems while the compiler passes run."""

from __future__ import annotations

from collections.abc import Callable

from hotmesh.errors import Problem
from hotmesh.graph import Location


class Reporter:
    """Turns ``(pointer, message)`` into a ``Problem`` located in the manifest.

    ``locate`` is ``Manifest.locate``; without it (a stored plan document)
    problems carry the pointer only, at line 0.
    """

    def __init__(
        self, source: str, locate: Callable[[str], Location] | None = None
    ) -> None:
        self.source = source
        self._locate = locate
        self.problems: list[Problem] = []

    def __call__(self, pointer: str, message: str, severity: str = "error") -> None:
        file, line, col = self._position(pointer)
        self.problems.append(Problem(file, line, col, pointer, message, severity))

    def where(self, pointer: str) -> str:
        """``file:line:col`` of ``pointer``, for messages naming another place."""
        file, line, col = self._position(pointer)
        return f"{file}:{line}:{col}"

    @property
    def errors(self) -> list[Problem]:
        """The problems that are errors (not warnings)."""
        return [p for p in self.problems if p.severity == "error"]

    def _position(self, pointer: str) -> tuple[str, int, int]:
        if self._locate is None:
            return self.source, 0, 0
        loc = self._locate(pointer)
        return loc.file, loc.line, loc.col
