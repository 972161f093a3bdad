"""THROWAWAY stand-ins for hotmesh.graph.load_app and hotmesh.expr until they land.

Installed by conftest.py only while the real modules are missing; delete this
file once ``hotmesh.graph`` and ``hotmesh.expr`` exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from hotmesh.errors import (
    ExpressionSyntaxError,
    ManifestLoadError,
    Problem,
    UnknownFunctionError,
)

_KNOWN = {
    "string.concat", "math.add", "math.subtract", "math.multiply", "conditional.less_than",
    "conditional.greater_than_or_equal", "conditional.equality", "conditional.nullish",
    "conditional.ternary", "array.get", "object.get", "date.now", "date.toLocaleString",
    "number.gte", "json.stringify", "json.parse", "object.create", "array.length",
    "logical.and", "logical.or", "math.max", "symbol.null", "object.set", "array.push",
    "conditional.strict_equality", "number.isNaN", "date.toISOString", "string.split",
    "math.divide", "conditional.inequality", "object.keys", "array.join", "date.valueOf",
    "symbol.undefined", "conditional.less_than_or_equal", "conditional.greater_than",
    "number.lt", "number.gt", "array.concat", "array.slice", "logical.not", "bitwise.and",
    "string.toUpperCase", "object.values", "string.replace", "number.toFixed",
    "conditional.strict_inequality", "array.indexOf", "object.assign", "array.reverse",
}  # fmt: skip
_BRACE = re.compile(r"\{([^{}]*)\}")
_REF = re.compile(r"^\$?[A-Za-z_][\w-]*(\.[^.\s{}]+)*$")


@dataclass(frozen=True)
class Rule:
    source: Any
    references: frozenset[str]
    functions: frozenset[str]

    @property
    def is_constant(self) -> bool:
        return not self.references and not self.functions

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        value = self.source
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            node: Any = context
            for part in value[1:-1].split("."):
                if not isinstance(node, Mapping) or part not in node:
                    return None
                node = node[part]
            return node
        return value


def _scan(value: Any, path: tuple[Any, ...], refs: set[str], fns: set[str]) -> None:
    if isinstance(value, str):
        for m in _BRACE.finditer(value):
            inner = m.group(1)
            if inner.startswith("@"):
                if inner[1:] not in _KNOWN:
                    err = UnknownFunctionError(inner[1:], m.start() + 1)
                    err.path = path
                    raise err
                fns.add(inner[1:])
            elif _REF.match(inner):
                refs.add(inner)
            else:
                bad = ExpressionSyntaxError(
                    value, m.start() + 2 + inner.find(".."), "empty path segment"
                )
                bad.path = path
                raise bad
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _scan(v, (*path, k), refs, fns)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _scan(v, (*path, i), refs, fns)


def compile(value: Any) -> Rule:
    refs: set[str] = set()
    fns: set[str] = set()
    _scan(value, (), refs, fns)
    return Rule(value, frozenset(refs), frozenset(fns))


def compile_map(block: Mapping[str, Any]) -> Rule:
    return compile(dict(block))


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int


@dataclass(frozen=True)
class Manifest:
    document: dict[str, Any]
    source: str
    root: Any
    warnings: tuple[Problem, ...] = field(default=())

    def locate(self, pointer: str) -> Location:
        node = self.root
        line, col = 1, 1
        for raw in pointer.split("/")[1:]:
            part: Any = raw.replace("~1", "/").replace("~0", "~")
            try:
                if isinstance(node, list):
                    part = int(part)
                    line, col = node.lc.item(part)
                else:
                    line, col = node.lc.key(part)
                line, col = line + 1, col + 1
                node = node[part]
            except Exception:
                break
        return Location(self.source, line, col)


def _plain(value: Any, base: Path) -> Any:
    if isinstance(value, Mapping):
        if "$ref" in value and len(value) == 1:
            ref = str(value["$ref"])
            file, _, frag = ref.partition("#")
            target = base / file
            data: Any = YAML(typ="safe").load(target.read_text())
            for part in [p for p in frag.split("/") if p]:
                data = data[part]
            return _plain(data, target.parent)
        return {str(k): _plain(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, base) for v in value]
    return value


def load_app(source: Any) -> Manifest:
    if isinstance(source, str) and ("\n" in source or source.startswith("app:")):
        root = YAML().load(source)
        return Manifest(_plain(root, Path()), "<string>", root)
    path = Path(source)
    try:
        root = YAML().load(path.read_text())
    except OSError as exc:
        raise ManifestLoadError([Problem(str(source), 0, 0, "", str(exc))]) from exc
    return Manifest(_plain(root, path.parent), str(source), root)
