"""load_app: upstream manifests dereference exactly like upstream; errors are located."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hotmesh.errors import ManifestLoadError
from hotmesh.graph import load_app
from tests.conformance import OWN
from tests.upstream import SETUP, corrected, corrected_document, requires_upstream

EXPECTED = sorted(SETUP.rglob(".hotmesh.*.json"))


def _document_for(expected: Path, tmp: Path) -> dict[str, Any]:
    """The loaded manifest whose app ``expected`` dereferences (typos fixed)."""
    for name in ("hotmesh.yaml", "codec.yaml"):
        candidate = expected.parent / name
        if candidate.exists():
            doc = load_app(corrected(candidate, tmp)).document
            if doc["app"]["id"] == json.loads(expected.read_text())["app"]["id"]:
                return doc
    raise AssertionError(f"no manifest for {expected}")


@requires_upstream
@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: str(p.relative_to(SETUP)))
def test_document_equals_upstream_dereferenced_json(
    expected: Path, tmp_path: Path
) -> None:
    upstream = corrected_document(json.loads(expected.read_text()))
    assert _document_for(expected, tmp_path) == upstream


@pytest.mark.parametrize(
    "root", [OWN, pytest.param(SETUP, marks=requires_upstream)], ids=["own", "upstream"]
)
def test_locations_point_into_referenced_file(root: Path) -> None:
    manifest = load_app(root / "apps/calc/v1/hotmesh.yaml")
    loc = manifest.locate("/app/graphs/0/activities")
    assert loc.file.endswith("graphs/calculate.yaml")
    assert loc.line > 0


def test_text_source_and_int_keys() -> None:
    text = (
        "app:\n  id: ab\n  version: '1'\n  graphs:\n    - subscribes: s\n"
        "      activities:\n        t: {type: trigger}\n"
        "        w:\n          type: worker\n          topic: x\n"
        "          retry:\n            500: [3]\n"
    )
    manifest = load_app(text)
    assert manifest.source == "<string>"
    retry = "/app/graphs/0/activities/w/retry"
    assert manifest.document["app"]["graphs"][0]["activities"]["w"]["retry"] == {
        "500": [3]
    }
    assert manifest.locate(f"{retry}/500").line == 12
    assert manifest.locate("/app/nope/deeper") == manifest.locate("/app")


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("app:\n  id: a\n   version: 1\n", ":3:", "YAML syntax error"),
        (
            "app:\n  id: a\n  id: b\n",
            ":3:3",
            "duplicate key 'id' (first defined at 2:3)",
        ),
        ("a: &x\n  b: *x\n", ":2:", "recursive YAML alias"),
        ("app: [1\n", ":2:", "YAML syntax error"),
        ("- app\n- b\n", ":1:1", "'app'"),
        ("app:\n  x: {$ref: 'missing.yaml'}\n", ":2:", "has no file references"),
        ("app:\n  x: {$ref: '#/app/x'}\n", ":2:", "cycle"),
        ("app:\n  x: {$ref: '#/nope'}\n", ":2:", "target not found"),
        ("---\n\n", ":1:1", "empty"),
    ],
)
def test_load_errors_are_located(text: str, where: str, fragment: str) -> None:
    with pytest.raises(ManifestLoadError) as info:
        load_app(text)
    assert where in str(info.value)
    assert fragment in str(info.value)


def _types(value: object) -> set[type]:
    if isinstance(value, dict):
        return {dict}.union(
            *(_types(v) for v in value.values()), {type(k) for k in value}
        )
    if isinstance(value, list):
        return {list}.union(*(_types(v) for v in value))
    return {type(value)}


def test_document_holds_plain_json_types_only(tmp_path: Path) -> None:
    text = (
        "app:\n  id: ab\n  version: 1.5\n  settings: {when: 2024-01-01, n: null, "
        "ok: yes, f: 1e3}\n  graphs:\n    - subscribes: s\n"
        "      activities:\n        t: {type: trigger}\n"
    )
    manifest = load_app(text)
    assert _types(manifest.document) <= {dict, list, str, int, float, bool, type(None)}
    assert manifest.document["app"]["settings"]["when"] == "2024-01-01"
    for expected in EXPECTED:
        allowed = {dict, list, str, int, float, bool, type(None)}
        assert _types(_document_for(expected, tmp_path)) <= allowed
