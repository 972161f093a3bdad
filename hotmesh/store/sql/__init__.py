"""SQL text for the PostgreSQL store: named blocks of ``queries.sql`` (and
``schedules.sql``) and migrations."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@cache
def queries(schema: str, file: str = "queries.sql") -> dict[str, str]:
    """Every ``-- name: x`` block of ``file`` with ``schema`` (already quoted) inserted."""
    text = _read(file)
    parts = _NAME.split(text)
    out: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in out:  # a second block would silently replace the first
            raise ValueError(f"{file} defines '{name}' twice")
        out[name] = body.strip().rstrip(";").replace("__SCHEMA__", schema)
    return out


def migrations(schema: str) -> list[tuple[int, str]]:
    """``(number, sql)`` for each ``migrations/NNNN_*.sql``, in order."""
    folder = resources.files(__package__).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = re.match(r"^(\d{4})_\w+\.sql$", entry.name)
        if match:
            sql = entry.read_text(encoding="utf-8").replace("__SCHEMA__", schema)
            found.append((int(match.group(1)), sql))
    return sorted(found)
