"""Read manifest YAML with ruamel, resolve ``$ref``s and record node locations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from hotmesh.errors import ManifestLoadError, Problem


@dataclass(frozen=True)
class Location:
    """Where a value was written (1-based line and col)."""

    file: str
    line: int
    col: int


@dataclass(frozen=True)
class Manifest:
    """The dereferenced manifest plus where each JSON pointer came from."""

    document: dict[str, Any]
    source: str
    locations: dict[str, Location] = field(repr=False)
    warnings: tuple[Problem, ...] = ()

    def locate(self, pointer: str) -> Location:
        """Location of ``pointer``, else of its nearest located ancestor."""
        probe = pointer
        while probe:
            if probe in self.locations:
                return self.locations[probe]
            probe = probe.rsplit("/", 1)[0]
        return self.locations.get("", Location(self.source, 1, 1))


def _fail(file: str, line: int, col: int, message: str) -> ManifestLoadError:
    return ManifestLoadError([Problem(file, line, col, "", message)])


def _short(name: str) -> str:
    cwd = f"{Path.cwd()}{os.sep}"
    return name[len(cwd) :] if name.startswith(cwd) else name


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class _Loader:
    def __init__(self) -> None:
        self.locations: dict[str, Location] = {}
        self.files: dict[Path, Any] = {}
        self.roots: dict[str, Any] = {}

    def parse(self, text: str, name: str) -> Any:
        yaml = YAML(typ="rt", pure=True)
        yaml.allow_duplicate_keys = False
        try:
            docs = list(yaml.load_all(text))
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            reason = (
                (exc.problem or exc.context or "invalid YAML").strip().splitlines()[0]
            )
            raise _fail(name, line, col, f"YAML syntax error: {reason}") from None
        except YAMLError as exc:
            raise _fail(name, 0, 0, f"YAML error: {str(exc).splitlines()[0]}") from None
        if len(docs) > 1:
            raise _fail(name, 1, 1, "expected one YAML document, found several")
        if not docs or docs[0] is None:
            raise _fail(name, 1, 1, "manifest is empty")
        return docs[0]

    def load_file(self, path: Path, ref_from: Location) -> Any:
        if path not in self.files:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                msg = (
                    f"$ref target file not found: {_short(str(path))} ({exc.strerror})"
                )
                raise _fail(ref_from.file, ref_from.line, ref_from.col, msg) from None
            self.files[path] = self.parse(text, str(path))
            self.roots[str(path)] = self.files[path]
        return self.files[path]

    def convert(
        self,
        node: Any,
        pointer: str,
        file: str,
        base: Path,
        at: Location,
        chain: tuple[str, ...],
    ) -> Any:
        if isinstance(node, CommentedMap):
            if "$ref" in node and isinstance(node["$ref"], str):
                return self.deref(node, pointer, file, base, at, chain)
            out: dict[str, Any] = {}
            for key, value in node.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise _fail(
                        file, at.line, at.col, f"mapping key {key!r} is not a string"
                    )
                # Located at the key: a block collection's value position is its
                # first child, and the key names what the problem is about.
                vl, vc = node.lc.key(key)
                # Integer keys (retry codes like ``500:``) become strings, as in JSON.
                name = str(key)
                child = f"{pointer}/{_escape(name)}"
                loc = Location(file, vl + 1, vc + 1)
                self.locations[child] = loc
                out[name] = self.convert(value, child, file, base, loc, chain)
            return out
        if isinstance(node, CommentedSeq):
            items: list[Any] = []
            for index, value in enumerate(node):
                il, ic = node.lc.item(index)
                child = f"{pointer}/{index}"
                loc = Location(file, il + 1, ic + 1)
                self.locations[child] = loc
                items.append(self.convert(value, child, file, base, loc, chain))
            return items
        if node is None or isinstance(node, (bool, int, float)):
            return bool(node) if isinstance(node, bool) else node
        return str(node)

    def deref(
        self,
        node: Any,
        pointer: str,
        file: str,
        base: Path,
        at: Location,
        chain: tuple[str, ...],
    ) -> Any:
        ref = str(node["$ref"])
        rel, _, frag = ref.partition("#")
        if rel:
            target = (base / rel).resolve()
            data = self.load_file(target, at)
            name, where = str(target), target.parent
        else:
            data, name, where = self.roots[file], file, base
        key = f"{name}#{frag}"
        if key in chain:
            # Show the chain relative to the working directory so messages are portable.
            cycle = " -> ".join(_short(k) for k in [*chain, key])
            raise _fail(at.file, at.line, at.col, f"$ref cycle: {cycle}")
        for raw in [p for p in frag.split("/")[1:]] if frag else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(data, CommentedMap) and part in data:
                data = data[part]
            elif (
                isinstance(data, CommentedSeq)
                and part.isdigit()
                and int(part) < len(data)
            ):
                data = data[int(part)]
            else:
                raise _fail(at.file, at.line, at.col, f"$ref target not found: {ref}")
        return self.convert(data, pointer, name, where, at, (*chain, key))


def load_app(source: str | os.PathLike[str]) -> Manifest:
    """Load a manifest from a path or YAML text (see docs/architecture.md)."""
    text_given = isinstance(source, str) and (
        "\n" in source or source.strip().startswith("app:")
    )
    loader = _Loader()
    if text_given:
        name, base, text = "<string>", Path.cwd(), str(source)
    else:
        name, path = os.fspath(source), Path(source)
        base = path.resolve().parent
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _fail(name, 0, 0, f"cannot read manifest: {exc.strerror}") from None
    root = loader.parse(text, name)
    loader.roots[name] = root
    start = Location(name, 1, 1)
    loader.locations[""] = start
    document = loader.convert(root, "", name, base, start, ())
    if not isinstance(document, dict) or "app" not in document:
        raise _fail(name, 1, 1, "top level must be a mapping with an 'app' key")
    return Manifest(document, name, loader.locations)
