"""Suggest the known name a misspelt one was probably meant to be."""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name within a small edit distance of ``name``, if any.

    Small means one edit for names of up to four characters, two for longer
    ones; case differences are free. Ties go to the alphabetically first.
    """
    best: tuple[int, str] | None = None
    for candidate in known:
        if candidate == name:
            return None
        limit = 1 if len(candidate) <= 4 else 2
        d = distance(name.lower(), candidate.lower())
        if d <= limit and (best is None or (d, candidate) < best):
            best = (d, candidate)
    return None if best is None else best[1]
