"""The bundled manifest schema (for editors) is current, self-contained and agrees
with the multi-file schemas the loader validates with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hotmesh.graph import bundle, load_app
from hotmesh.graph.validate import validator
from hotmesh.resources import schemas_dir
from tests.conformance import OWN

ROOT = Path(__file__).resolve().parents[3]
BUNDLED = json.loads(bundle.render())
MANIFESTS = sorted(OWN.rglob("hotmesh.yaml")) + sorted((ROOT / "graphs").glob("*.yaml"))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_committed_bundle_is_current() -> None:
    path = Path(str(schemas_dir())) / bundle.BUNDLE_FILE
    assert path.read_text(encoding="utf-8") == bundle.render(), (
        f"{path} is stale; run: {bundle.REGENERATE}"
    )


def test_the_bundle_is_valid_and_refers_only_to_itself() -> None:
    Draft202012Validator.check_schema(BUNDLED)
    refs = _refs(BUNDLED)
    assert len(refs) > 40 and all(r.startswith("#") for r in refs)
    assert "$id" not in BUNDLED  # nothing to fetch, nothing to resolve against


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_bundle_accepts_what_the_loader_accepts(path: Path) -> None:
    document = load_app(path).document
    alone = Draft202012Validator(BUNDLED)  # no registry: any remote $ref would fail
    assert [e.message for e in alone.iter_errors(document)] == []


BROKEN = [
    {"app": {"id": "my_app", "version": "1", "graphs": []}},
    {
        "app": {
            "id": "x",
            "version": "1",
            "graphs": [
                {
                    "subscribes": "s",
                    "activities": {"t": {"type": "trigger"}, "w": {"type": "worker"}},
                }
            ],
        }
    },
    {
        "app": {
            "id": "x",
            "version": "1",
            "graphs": [{"subscribes": "s", "activities": {"t": {"type": "nope"}}}],
        }
    },
    {
        "app": {
            "id": "x",
            "version": "1",
            "graphs": [
                {
                    "subscribes": "s",
                    "activities": {"t": {"type": "trigger"}},
                    "transitions": {"t": [{"to": "u", "conditions": {"gate": "xor"}}]},
                }
            ],
        }
    },
    {
        "app": {
            "id": "x",
            "version": "1",
            "graphs": [
                {
                    "subscribes": "s",
                    "activities": {
                        "t": {
                            "type": "trigger",
                            "job": {"maps": {"a": {"@pipe": "no"}}},
                        }
                    },
                }
            ],
        }
    },
]


@pytest.mark.parametrize("document", BROKEN)
def test_the_bundle_refuses_what_the_loader_refuses_at_the_same_places(
    document: dict[str, Any],
) -> None:
    def places(v: Draft202012Validator) -> set[str]:
        return {
            "/" + "/".join(map(str, e.absolute_path)) for e in v.iter_errors(document)
        }

    expected = places(validator())
    assert expected and places(Draft202012Validator(BUNDLED)) == expected
