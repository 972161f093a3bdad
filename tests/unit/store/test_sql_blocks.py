"""Every named SQL block says what it does: a ``-- `` line right after its
``-- name:`` line (the store's statements are read as data, so the file is
their documentation)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from hotmesh.store.sql import queries

_NAME = re.compile(r"^-- name: (\w+)\s*$")
SQL = resources.files("hotmesh.store.sql")
FILES = sorted(
    entry.name
    for entry in SQL.iterdir()
    if entry.name.endswith(".sql") and "-- name:" in entry.read_text(encoding="utf-8")
)


def test_the_named_block_files_are_found() -> None:
    assert {"queries.sql", "schedules.sql", "search.sql"} <= set(FILES)


@pytest.mark.parametrize("file", FILES)
def test_every_named_block_has_a_one_line_description(file: str) -> None:
    lines = SQL.joinpath(file).read_text(encoding="utf-8").splitlines()
    missing = []
    for number, line in enumerate(lines):
        match = _NAME.match(line)
        if match is None:
            continue
        after = lines[number + 1] if number + 1 < len(lines) else ""
        if not after.startswith("-- ") or len(after.strip()) < 12:
            missing.append(f"{file}:{number + 1}: block '{match.group(1)}'")
    assert not missing, "add a '-- what it does' line after:\n" + "\n".join(missing)
    # and the blocks still load (a description is a comment, not SQL)
    assert queries('"hotmesh"', file)
