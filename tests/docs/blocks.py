"""Fenced code blocks of the user docs, with the marker that says how to check each.

A marker is an HTML comment (invisible when rendered) on the line just above
the opening fence::

    <!-- doctest: fragment -->

``fragment``: part of a program or manifest (``...`` placeholders, names
defined elsewhere): only its syntax is checked. ``background``: a shell
command that runs until stopped (a worker), started before the blocks after
it and stopped at the end. ``pytest``: a test module, run with pytest. With no
marker a ``python`` block must run as a script and a ``yaml`` block holding
``app:`` must validate; shell blocks run only in the quickstart's own test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: every user-facing page
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MARKERS = {"fragment", "background", "pytest"}

_FENCE = re.compile(r"^(`{3,})([\w+-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*doctest:\s*([\w-]+)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its page, the line of its opening fence, language, marker, text."""

    page: Path
    line: int
    lang: str
    marker: str | None
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``; an unknown marker is an error naming its line."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, lang = opening.groups()
        marker = None
        above = _MARKER.match(lines[i - 1]) if i else None
        if above:
            marker = above.group(1)
            if marker not in MARKERS:
                raise ValueError(
                    f"{page}:{i}: unknown doctest marker {marker!r} "
                    f"(known: {', '.join(sorted(MARKERS))})"
                )
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != fence:
            end += 1
        found.append(
            Block(page, i + 1, lang, marker, "\n".join(lines[i + 1 : end]) + "\n")
        )
        i = end + 1
    return found


def every_block() -> list[Block]:
    return [b for page in PAGES for b in blocks(page)]
