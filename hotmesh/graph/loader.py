"""Read manifest YAML into plain JSON values, resolving ``$ref``s and recording locations."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hotmesh.errors import (
    ManifestLoadError,
    ManifestValidationError,
    Problem,
    problems_from,
)
from hotmesh.graph import refs, validate
from hotmesh.graph.expansion import alias_use
from hotmesh.graph.guard import DEFAULT_LIMITS, ManifestLimits, Refused
from hotmesh.graph.guard import read_text as _read_text
from hotmesh.graph.guard import ref_target as _ref_target


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
    #: the limits it was loaded under; the compiler checks ``max_branches``
    limits: ManifestLimits = DEFAULT_LIMITS

    def locate(self, pointer: str) -> Location:
        """Location of ``pointer``, else of its nearest located ancestor."""
        probe = pointer
        while probe:
            if probe in self.locations:
                return self.locations[probe]
            probe = probe.rsplit("/", 1)[0]
        return self.locations.get("", Location(self.source, 1, 1))


MAX_DEPTH = 100
_BRACKETS = re.compile(r"[\[\]{}]")


def _fail(file: str, line: int, col: int, message: str) -> ManifestLoadError:
    return ManifestLoadError([Problem(file, line, col, "", message)])


def _short(name: str) -> str:
    cwd = f"{Path.cwd()}{os.sep}"
    return name[len(cwd) :] if name.startswith(cwd) else name


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Loader:
    def __init__(self, root: Path | None, limits: ManifestLimits) -> None:
        self.root = root
        self.limits = limits
        self.locations: dict[str, Location] = {}
        self.files: dict[Path, Node] = {}
        self.roots: dict[str, Node] = {}
        # libyaml (ruamel.yaml.clib) parses ~5x faster; ruamel falls back to pure Python.
        self.yaml = YAML(typ="safe", pure=False)
        self.texts: dict[str, str] = {}
        self.active: set[tuple[int, int]] = set()
        # What alias and $ref expansion produced so far (issue 20 §2: a
        # "billion laughs" manifest grew past 3.7 GB before this bound).
        self.nodes = 0
        self.chars = 0
        self.done: set[int] = set()
        self.expanding: list[tuple[Node, str, Location]] = []

    def parse(self, text: str, name: str) -> Node:
        _check_depth(text, name)
        self.texts[name] = text
        try:
            docs = list(self.yaml.compose_all(text))
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            reason = (
                (exc.problem or exc.context or "invalid YAML").strip().splitlines()[0]
            )
            if mark and _char_at(text, mark.line, mark.column) == "\t":
                reason = "tab character; YAML indentation must use spaces"
            if exc.context_mark and "quoted scalar" in (exc.context or ""):
                # The end-of-stream mark is useless; point at the unclosed quote instead.
                line, col = exc.context_mark.line + 1, exc.context_mark.column + 1
                reason = "quoted string is never closed"
            raise _fail(name, line, col, f"YAML syntax error: {reason}") from None
        except (YAMLError, ValueError) as exc:
            raise _fail(name, 1, 1, f"YAML error: {str(exc).splitlines()[0]}") from None
        if len(docs) > 1:
            raise _fail(name, 1, 1, "expected one YAML document, found several")
        if not docs or docs[0] is None or _is_null(docs[0]):
            raise _fail(name, 1, 1, "manifest is empty")
        return cast(Node, docs[0])

    def load_file(self, path: Path, ref_from: Location, ref: str) -> Node:
        if path not in self.files:
            try:
                text = _read_text(path, self.limits)
            except Refused as exc:
                if path.exists():
                    msg = f"$ref {ref!r} refused: {exc.reason}"
                else:
                    msg = f"$ref target file not found: {_short(str(path))} ({exc.reason})"
                raise _fail(ref_from.file, ref_from.line, ref_from.col, msg) from None
            name = _short(str(path))
            self.files[path] = self.roots[name] = self.parse(text, name)
        return self.files[path]

    def scalar(self, node: ScalarNode, file: str) -> Any:
        try:
            value = self.yaml.constructor.construct_object(node, deep=True)
        except (YAMLError, ValueError, OverflowError) as exc:
            line, col = _mark(node)
            reason = str(exc).splitlines()[0]
            raise _fail(file, line, col, f"bad YAML value: {reason}") from None
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        # Timestamps, binary and other YAML-only types stay as the text written.
        return str(node.value)

    def convert(
        self,
        node: Node,
        pointer: str,
        file: str,
        base: Path,
        at: Location,
        chain: tuple[str, ...],
    ) -> Any:
        again = self.count(node, file, at)
        if isinstance(node, ScalarNode):
            return self.scalar(node, file)
        # Re-entering a node through a YAML alias (not through a $ref) never ends.
        visit = (id(node), len(chain))
        if visit in self.active:
            raise _fail(file, at.line, at.col, "recursive YAML alias")
        self.active.add(visit)
        if again is not None:
            self.expanding.append(again)
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, pointer, file, base, chain)
            if isinstance(node, SequenceNode):
                items: list[Any] = []
                for index, value in enumerate(node.value):
                    child = f"{pointer}/{index}"
                    loc = Location(file, *_mark(value))
                    self.locations[child] = loc
                    items.append(self.convert(value, child, file, base, loc, chain))
                return items
        finally:
            self.active.discard(visit)
            if again is not None:
                self.expanding.pop()
        raise _fail(file, at.line, at.col, "unsupported YAML node")  # pragma: no cover

    def count(
        self, node: Node, file: str, at: Location
    ) -> tuple[Node, str, Location] | None:
        """Count ``node`` against the limits; a node seen before is an expansion."""
        self.nodes += 1
        if isinstance(node, ScalarNode):
            self.chars += len(node.value)
        again: tuple[Node, str, Location] | None = None
        if id(node) in self.done:
            again = (node, file, at)
        else:
            self.done.add(id(node))
        limits = self.limits
        if self.nodes > limits.max_nodes:
            what = f"{limits.max_nodes:,} values (ManifestLimits.max_nodes)"
        elif self.chars > limits.max_scalar_chars:
            what = (
                f"{limits.max_scalar_chars:,} characters of scalars"
                " (ManifestLimits.max_scalar_chars)"
            )
        else:
            return again
        culprit = self.expanding[0] if self.expanding else again
        if culprit is None:
            raise _fail(file, at.line, at.col, f"manifest has more than {what}")
        repeated, name, where = culprit
        use = alias_use(self.yaml, self.texts.get(name, ""), repeated)
        if use is None:  # the same node reached again through $refs
            raise _fail(
                name, where.line, where.col, f"$ref expands the manifest past {what}"
            )
        anchor, line, col = use
        raise _fail(
            name, line, col, f"alias *{anchor} expands the manifest past {what}"
        )

    def mapping(
        self,
        node: MappingNode,
        pointer: str,
        file: str,
        base: Path,
        chain: tuple[str, ...],
    ) -> Any:
        entries: list[tuple[str, Node, Node]] = []
        seen: dict[str, Node] = {}
        for key_node, value in node.value:
            name = refs.key_text(key_node)
            line, col = _mark(key_node)
            if name is None:
                raise _fail(file, line, col, "mapping keys must be strings or numbers")
            if name in seen:
                first = "{}:{}".format(*_mark(seen[name]))
                msg = f"duplicate key '{name}' (first defined at {first})"
                raise _fail(file, line, col, msg)
            seen[name] = key_node
            entries.append((name, key_node, value))
        for name, key_node, value in entries:
            if (
                name == "$ref"
                and isinstance(value, ScalarNode)
                and value.tag == refs.STR_TAG
            ):
                at = Location(file, *_mark(key_node))
                return self.deref(str(value.value), pointer, file, base, at, chain)
        out: dict[str, Any] = {}
        for name, key_node, value in entries:
            # Located at the key: a block collection's value position is its
            # first child, and the key names what the problem is about.
            child = f"{pointer}/{_escape(name)}"
            loc = Location(file, *_mark(key_node))
            self.locations[child] = loc
            out[name] = self.convert(value, child, file, base, loc, chain)
        return out

    def deref(
        self,
        ref: str,
        pointer: str,
        file: str,
        base: Path,
        at: Location,
        chain: tuple[str, ...],
    ) -> Any:
        rel, frag, tokens = refs.split(ref)
        if rel:
            if "\x00" in rel:  # no file name holds one (Path would raise ValueError)
                msg = (
                    f"$ref target file not found: {ref!r} (a NUL character in the path)"
                )
                raise _fail(at.file, at.line, at.col, msg)
            try:
                target = _ref_target(rel, base, self.root)
            except Refused as exc:
                msg = f"$ref {rel!r} refused: {exc.reason}"
                raise _fail(at.file, at.line, at.col, msg) from None
            data = self.load_file(target, at, rel)
            name, where = _short(str(target)), target.parent
        else:
            data, name, where = self.roots[file], file, base
        key = f"{name}#{frag}" if frag else name
        if key in chain:
            cycle = " -> ".join([*chain, key])
            raise _fail(at.file, at.line, at.col, f"$ref cycle: {cycle}")
        for part in tokens:
            found = refs.step(data, part)
            if found is None:
                msg = f"$ref target not found: {ref} ({name} has no '{part}' there)"
                raise _fail(at.file, at.line, at.col, msg)
            data = found
        return self.convert(data, pointer, name, where, at, (*chain, key))


def _check_depth(text: str, name: str) -> None:
    """Refuse absurd flow nesting up front: the YAML parser would recurse for seconds."""
    depth = 0
    for found in _BRACKETS.finditer(text):
        if found.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, found.start()) + 1
                col = found.start() - text.rfind("\n", 0, found.start())
                raise _fail(
                    name, line, col, f"nesting is deeper than {MAX_DEPTH} levels"
                )
        elif depth:
            depth -= 1


def _char_at(text: str, line: int, col: int) -> str:
    rows = text.split("\n")
    return rows[line][col : col + 1] if line < len(rows) else ""


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def load_app(
    source: str | os.PathLike[str],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    ref_root: str | os.PathLike[str] | None = None,
    limits: ManifestLimits | None = None,
) -> Manifest:
    """Load a manifest from a path or YAML text (see docs/architecture.md).

    ``$ref``s resolve from ``base_dir`` (default: the manifest file's folder;
    text has none, so it may only reference itself) and only inside
    ``ref_root`` (default: that same folder). ``limits`` bounds file sizes
    and alias expansion.
    """
    text_given = isinstance(source, str) and (
        "\n" in source or source.strip().startswith("app:")
    )
    limits = limits or DEFAULT_LIMITS
    if text_given:
        name, text = "<string>", str(source)
        base = _folder(base_dir, name) if base_dir is not None else None
    else:
        name, path = os.fspath(source), Path(source)
        try:
            text = _read_text(path, limits)
            base = _folder(base_dir, name) if base_dir else path.resolve().parent
        except (Refused, OSError, ValueError) as exc:  # ValueError: a NUL byte
            why = getattr(exc, "reason", None) or getattr(exc, "strerror", None)
            raise _fail(name, 0, 0, f"cannot read manifest: {why or exc}") from None
    root = _folder(ref_root, name) if ref_root is not None else base
    loader = _Loader(root, limits)
    try:
        root_node = loader.parse(text, name)
        loader.roots[name] = root_node
        start = Location(name, 1, 1)
        loader.locations[""] = start
        document = loader.convert(root_node, "", name, base or Path.cwd(), start, ())
        if not isinstance(document, dict) or "app" not in document:
            raise _fail(name, 1, 1, "top level must be a mapping with an 'app' key")
        manifest = Manifest(document, name, loader.locations)
        errors, warnings = validate.check(document, manifest.locate)
    except RecursionError:
        # Deep block nesting that slipped past the flow-depth check.
        raise _fail(name, 1, 1, "manifest is nested too deeply") from None
    except MemoryError:  # pragma: no cover - the expansion limits come first
        raise _fail(name, 1, 1, "manifest is too large to load") from None
    if errors:
        raise ManifestValidationError(problems_from([*errors, *warnings]))
    return Manifest(
        document, name, loader.locations, tuple(problems_from(warnings)), limits
    )


def _folder(value: str | os.PathLike[str], name: str) -> Path:
    """``base_dir``/``ref_root`` as a resolved, existing directory."""
    try:
        folder = Path(value).resolve()
    except (OSError, ValueError) as exc:
        raise _fail(
            name, 0, 0, f"bad reference folder {os.fspath(value)!r}: {exc}"
        ) from None
    if not folder.is_dir():
        raise _fail(
            name, 0, 0, f"reference folder {os.fspath(value)!r} is not a directory"
        )
    return folder
