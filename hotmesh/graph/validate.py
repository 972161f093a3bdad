"""Check a dereferenced manifest against the JSON Schemas in ``schemas/``."""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing._core import Resolver

from hotmesh.errors import Problem
from hotmesh.graph.spelling import closest
from hotmesh.resources import schemas_dir

ROOT_SCHEMA = "https://hotmesh.dev/schemas/app.schema.json"

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_ACTIVITY = re.compile(r"/activities/[^/]+$")
_TRANSITION = re.compile(r"/(transitions|hooks)/[^/]+/\d+$")
_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)$")


class _Located(Protocol):
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def col(self) -> int: ...


@functools.cache
def registry() -> Registry[Any]:
    """Every schema file, registered under its ``$id``."""
    resources = []
    for entry in sorted(schemas_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".schema.json"):
            contents = json.loads(entry.read_text(encoding="utf-8"))
            resources.append(Resource.from_contents(contents))
    return Registry().with_resources((r.id() or "", r) for r in resources)


@functools.cache
def validator() -> Draft202012Validator:
    """The compiled root validator (built once per process)."""
    schema = registry().contents(ROOT_SCHEMA)
    return Draft202012Validator(schema, registry=registry())


@functools.cache
def _bases() -> dict[int, str]:
    """The ``$id`` of the file holding each schema object, by identity (to resolve
    the relative ``$ref`` of the object an error reports)."""
    bases: dict[int, str] = {}

    def walk(node: Any, uri: str) -> None:
        if isinstance(node, dict):
            bases[id(node)] = uri
            for value in node.values():
                walk(value, uri)
        elif isinstance(node, list):
            for value in node:
                walk(value, uri)

    reg = registry()
    for uri in reg:
        walk(reg.contents(uri), uri)
    return bases


def known_keys(schema: Any, instance: Any) -> set[str]:
    """The keys ``schema`` accepts for ``instance`` (following ``$ref``,
    ``allOf``/``anyOf``/``oneOf`` and the ``if``/``then`` branch that applies)."""
    base = _bases().get(id(schema), ROOT_SCHEMA)
    return _keys(schema, instance, registry().resolver(base))


def _keys(node: Any, instance: Any, resolver: Resolver[Any]) -> set[str]:
    if not isinstance(node, Mapping):
        return set()
    keys = set(node.get("properties", {}))
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        keys |= _keys(resolved.contents, instance, resolved.resolver)
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(word, ()):
            keys |= _keys(sub, instance, resolver)
    if "if" in node:
        test = Draft202012Validator(node["if"], registry=registry())
        branch = node.get("then" if test.is_valid(instance) else "else")
        keys |= _keys(branch, instance, resolver)
    return keys


def _escape(part: object) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _pointer(path: Iterable[object]) -> str:
    return "".join(f"/{_escape(p)}" for p in path)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    text = value if len(value) <= 40 else value[:37] + "..."
    return f"the string {json.dumps(text)}"


def _expected(types: str | list[str]) -> str:
    names = [
        _TYPE_NAMES.get(t, t) for t in ([types] if isinstance(types, str) else types)
    ]
    return " or ".join(names)


def _name(error: ValidationError) -> str:
    path = list(error.absolute_path)
    if not path:
        return "the document"
    if isinstance(path[-1], int):
        owner = f" of '{path[-2]}'" if len(path) > 1 else ""
        return f"item {path[-1]}{owner}"
    return f"'{path[-1]}'"


def _unexpected_keys(message: str) -> list[str]:
    found = _UNEXPECTED.search(message)
    if not found:
        return []
    try:
        keys = ast.literal_eval(f"({found.group(1)},)")
    except (ValueError, SyntaxError):
        return []
    return [str(k) for k in keys]


def message(error: ValidationError) -> str:
    """A one-line, human explanation of one schema error."""
    kind, name = error.validator, _name(error)
    value: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    custom = schema.get("x-expected")
    if kind == "pattern" and "propertyNames" in error.schema_path:
        expected = custom or f"a name matching {value}"
        return f"key '{error.instance}' in {name} must be {expected}"
    if custom and kind in ("anyOf", "oneOf", "type", "pattern"):
        return f"{name} must be {custom}, not {_describe(error.instance)}"
    if kind == "type":
        return f"{name} must be {_expected(value)}, not {_describe(error.instance)}"
    if kind == "required":
        present = error.instance if isinstance(error.instance, Mapping) else {}
        missing = next((k for k in value if k not in present), "?")
        return f"{name} is missing required key '{missing}'"
    if kind == "enum":
        if list(error.absolute_path)[-1:] == ["type"]:
            options = ", ".join(str(v) for v in value)
            return f"unknown type '{error.instance}' (expected one of: {options})"
        options = ", ".join(json.dumps(v) for v in value)
        return f"{name} must be one of {options}, not {_describe(error.instance)}"
    if kind == "additionalProperties":
        keys = ", ".join(f"'{k}'" for k in _unexpected_keys(error.message))
        return f"unexpected key {keys} in {name}"
    if kind == "pattern":
        return f"{name} must match {value}, not {_describe(error.instance)}"
    if kind in ("minItems", "minProperties"):
        return f"{name} must not be empty"
    if kind == "minLength":
        return f"{name} must not be an empty string"
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return f"{name} must be {bound} {value}, not {error.instance}"
    if kind in ("const", "not"):
        return f"{name} may not be {_describe(error.instance)}"
    if kind in ("anyOf", "oneOf") and error.context:
        return message(best_match(error.context))
    return f"{name}: {error.message}"


def _retry_code(error: ValidationError) -> tuple[str, str] | None:
    """A bad ``retry`` policy value, reported once at its code (``'500': [3]``)."""
    path = list(error.absolute_path)
    for i in range(1, len(path) - 2):
        if path[i - 1] == "activities" and path[i + 1] == "retry":
            text = f"retry for code {path[i + 2]} must be [n] with n a non-negative integer"
            return _pointer(path[: i + 3]), text
    return None


def _hint(parent: str, key: str) -> str:
    """Point at the usual home of a misplaced key."""
    if _TRANSITION.search(parent) and key in ("code", "gate", "match"):
        return f" (did you mean 'conditions.{key}'?)"
    return ""


def check(
    document: Mapping[str, Any], locate: Callable[[str], _Located]
) -> tuple[list[Problem], list[Problem]]:
    """Schema errors and unknown-key warnings of ``document``, each located.

    An unknown key within a small edit distance of a key the schema accepts
    there is an error with "did you mean"; any other unknown key is a warning.
    """
    errors: list[Problem] = []
    unknown: list[tuple[str, str, set[str]]] = []
    for error in validator().iter_errors(document):
        pointer = _pointer(error.absolute_path)
        if error.validator == "unevaluatedProperties":
            known = known_keys(error.schema, error.instance)
            for key in _unexpected_keys(error.message):
                unknown.append((pointer, key, known))
            continue
        retry = _retry_code(error)
        if retry:
            pointer, text = retry
            where = locate(pointer)
            errors.append(Problem(where.file, where.line, where.col, pointer, text))
            continue
        if error.validator in ("anyOf", "oneOf") and error.context:
            sub = best_match(error.context)
            if not error.schema.get("x-expected"):
                pointer = _pointer(sub.absolute_path)
        where = locate(pointer)
        errors.append(
            Problem(where.file, where.line, where.col, pointer, message(error))
        )
    warnings = []
    failed = [p.pointer for p in errors]
    for parent, key, known in unknown:
        pointer = f"{parent}/{_escape(key)}"
        meant = closest(key, known)
        if meant is not None:
            # A near miss of a real key is a typo, not an extension: ignoring
            # it would silently change what the graph does.
            where = locate(pointer)
            text = f"unknown key '{key}' (did you mean '{meant}'?)"
            errors.append(Problem(where.file, where.line, where.col, pointer, text))
            continue
        # A failing type-specific sub-schema leaves its keys "unevaluated": an activity
        # with errors would report its valid keys as unknown, so stay quiet there.
        if _ACTIVITY.search(parent) and any(
            p == parent or p.startswith(f"{parent}/") for p in failed
        ):
            continue
        where = locate(pointer)
        warnings.append(
            Problem(
                where.file,
                where.line,
                where.col,
                pointer,
                f"unknown key '{key}' is ignored{_hint(parent, key)}",
                "warning",
            )
        )
    return errors, warnings
