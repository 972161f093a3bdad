"""Every string in the conformance manifests compiles, with every function known.

Over our own (tests/conformance) always, and upstream's when ../shared is there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from hotmesh import errors, expr
from tests.conformance import OWN
from tests.upstream import SETUP, requires_upstream

#: (root, at least this many strings, at least this many @pipes)
ROOTS = [
    pytest.param(OWN, 400, 30, id="own"),
    pytest.param(SETUP, 1000, 10, id="upstream", marks=requires_upstream),
]


def _manifests(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in {".yaml", ".yml"})


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def compile_all(root: Path) -> tuple[int, list[str], set[str]]:
    """Compile every string; return (count, syntax errors, unknown function names)."""
    yaml = YAML(typ="safe", pure=True)
    count, broken, unknown = 0, [], set()
    for path in _manifests(root):
        for text in _strings(yaml.load(path.read_text())):
            count += 1
            try:
                expr.compile(text)
            except errors.UnknownFunctionError as exc:
                unknown.add(str(exc))
            except errors.ExpressionSyntaxError as exc:
                broken.append(f"{path.name}: {exc}")
    return count, broken, unknown


@pytest.mark.parametrize(("root", "strings", "_pipes"), ROOTS)
def test_every_manifest_string_compiles(root: Path, strings: int, _pipes: int) -> None:
    count, broken, unknown = compile_all(root)
    assert count > strings
    assert broken == []
    assert unknown == set()


@pytest.mark.parametrize(("root", "_strings", "least"), ROOTS)
def test_pipes_in_manifests_compile(root: Path, _strings: int, least: int) -> None:
    yaml = YAML(typ="safe", pure=True)
    pipes = 0

    def visit(node: Any) -> None:
        nonlocal pipes
        if isinstance(node, dict):
            if "@pipe" in node:
                pipes += 1
                try:
                    expr.compile(node)
                except errors.UnknownFunctionError:
                    pass
                return
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    for path in _manifests(root):
        visit(yaml.load(path.read_text()))
    assert pipes > least
