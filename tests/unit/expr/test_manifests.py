"""Every string in upstream's test manifests compiles, with every function known."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML

from hotmesh import errors, expr
from tests.upstream import SETUP, requires_upstream

pytestmark = requires_upstream

MANIFESTS = sorted(p for p in SETUP.rglob("*") if p.suffix in {".yaml", ".yml"})


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


def compile_all() -> tuple[int, list[str], set[str]]:
    """Compile every string; return (count, syntax errors, unknown function names)."""
    yaml = YAML(typ="safe", pure=True)
    count, broken, unknown = 0, [], set()
    for path in MANIFESTS:
        for text in _strings(yaml.load(path.read_text())):
            count += 1
            try:
                expr.compile(text)
            except errors.UnknownFunctionError as exc:
                unknown.add(str(exc))
            except errors.ExpressionSyntaxError as exc:
                broken.append(f"{path.name}: {exc}")
    return count, broken, unknown


def test_every_upstream_manifest_string_compiles() -> None:
    assert MANIFESTS, f"no upstream manifests under {SETUP}"
    count, broken, unknown = compile_all()
    assert count > 1000
    assert broken == []
    assert unknown == set()


def test_pipes_in_upstream_manifests_compile() -> None:
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

    for path in MANIFESTS:
        visit(yaml.load(path.read_text()))
    assert pipes > 10
