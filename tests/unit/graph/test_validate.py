"""Schema validation: upstream manifests pass; each kind of mistake is a precise, located error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from hotmesh import compiler
from hotmesh.errors import ManifestValidationError
from hotmesh.graph import load_app
from hotmesh.resources import schemas_dir
from tests.conformance import OWN
from tests.upstream import SETUP, TYPOS, corrected, requires_upstream

APPS = sorted(p for p in SETUP.rglob("*.yaml") if p.read_text().startswith("app:"))

HEAD = """app:
  id: demo
  version: '1'
  graphs:
    - subscribes: demo.start
      activities:
        t1:
          type: trigger
        a1:
"""


def _errors(activity: str, transitions: str = "") -> list[str]:
    text = (
        HEAD + activity + ("      transitions:\n" + transitions if transitions else "")
    )
    with pytest.raises(ManifestValidationError) as info:
        load_app(text)
    return [str(p) for p in info.value.problems if p.severity == "error"]


@pytest.mark.parametrize(
    "path",
    sorted(OWN.rglob("hotmesh.yaml")),
    ids=lambda p: str(p.relative_to(OWN)),
)
def test_every_conformance_manifest_validates_without_warnings(path: Path) -> None:
    # stricter than upstream's: not even a warning (unknown key, unreachable activity)
    assert [str(p) for p in compiler.validate(path)] == []


@requires_upstream
def test_upstream_manifests_are_found() -> None:
    assert len(APPS) >= 30


@requires_upstream
@pytest.mark.parametrize("path", APPS, ids=lambda p: str(p.relative_to(SETUP)))
def test_every_upstream_manifest_validates(path: Path, tmp_path: Path) -> None:
    manifest = load_app(corrected(path, tmp_path))
    assert all(w.severity == "warning" for w in manifest.warnings)


@requires_upstream
def test_upstream_typos_are_errors_with_a_hint() -> None:
    assert "seeds/graphs/sleep.do.yaml" in TYPOS
    with pytest.raises(ManifestValidationError) as info:
        load_app(SETUP / "seeds/hotmesh.yaml")
    found = [
        (Path(p.file).name, p.line, p.col, p.pointer, p.message)
        for p in info.value.problems
    ]
    assert found == [
        (
            "sleep.do.yaml",
            5,
            1,
            "/app/graphs/4/inputs",
            "unknown key 'inputs' (did you mean 'input'?)",
        ),
        (
            "sleep.do.yaml",
            11,
            1,
            "/app/graphs/4/outputs",
            "unknown key 'outputs' (did you mean 'output'?)",
        ),
    ]


def test_unknown_keys_far_from_any_known_key_are_located_warnings() -> None:
    manifest = load_app(HEAD + "          type: hook\n          notes: a memo\n")
    (warning,) = manifest.warnings
    assert str(warning) == (
        "<string>:11:11: warning: unknown key 'notes' is ignored"
        " (at /app/graphs/0/activities/a1/notes)"
    )


@pytest.mark.parametrize(
    "name", sorted(p.name for p in Path(str(schemas_dir())).glob("*.schema.json"))
)
def test_schema_files_are_valid_2020_12(name: str) -> None:
    schema = json.loads((Path(str(schemas_dir())) / name).read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    ("activity", "transitions", "expected"),
    [
        (
            "          type: wroker\n",
            "",
            "<string>:10:11: unknown type 'wroker'",
        ),
        (
            "          type: worker\n",
            "",
            "<string>:9:9: 'a1' is missing required key 'topic'",
        ),
        (
            "          type: worker\n          topic: x\n          retry:\n"
            "            '500': [many]\n",
            "",
            "<string>:13:13: retry for code 500 must be [n]",
        ),
        (
            "          type: hook\n          job:\n            maps:\n"
            "              x: {'@pipe': 'nope'}\n",
            "",
            "<string>:13:19: '@pipe' must be a list, not the string \"nope\"",
        ),
        (
            "          type: hook\n          sleep: true\n",
            "",
            "<string>:11:11: 'sleep' must be a number or a mapping rule, not a boolean",
        ),
        (
            "          type: hook\n",
            "        t1:\n          - to: a1\n            conditions:\n"
            "              code: ok\n              gate: xor\n",
            "<string>:15:15: 'code' must be a status code or a list of status codes",
        ),
        (
            "          type: hook\n",
            "        t1: a1\n",
            "<string>:12:9: 't1' must be a list, not the string \"a1\"",
        ),
        (
            "          type: signal\n          topic: x\n          subtype: some\n",
            "",
            '<string>:12:11: \'subtype\' must be one of "one", "all"',
        ),
    ],
)
def test_schema_errors_are_precise(
    activity: str, transitions: str, expected: str
) -> None:
    errors = _errors(activity, transitions)
    assert any(e.startswith(expected) for e in errors), errors


def test_all_errors_are_collected_at_once() -> None:
    errors = _errors(
        "          type: hook\n          sleep: true\n",
        "        t1:\n          - to: a1\n            conditions:\n"
        "              code: ok\n              gate: xor\n",
    )
    assert len(errors) == 3
    assert errors == sorted(errors, key=lambda e: int(e.split(":")[1]))


def test_broken_activity_does_not_report_its_valid_keys_as_unknown() -> None:
    with pytest.raises(ManifestValidationError) as info:
        load_app(
            HEAD + "          type: worker\n          topic: x\n          retry: 3\n"
        )
    assert [p.severity for p in info.value.problems] == ["error"]


def test_schema_error_inside_a_referenced_file_is_located_there(tmp_path: Path) -> None:
    (tmp_path / "graph.yaml").write_text(
        "subscribes: s\nactivities:\n  t1:\n    type: trigger\n  a1:\n    type: cycle\n"
    )
    root = tmp_path / "app.yaml"
    root.write_text(
        "app:\n  id: ab\n  version: '1'\n  graphs:\n    - $ref: graph.yaml\n"
    )
    with pytest.raises(ManifestValidationError) as info:
        load_app(root)
    (problem,) = info.value.problems
    assert problem.file.endswith("graph.yaml") and (problem.line, problem.col) == (5, 3)
    assert problem.message == "'a1' is missing required key 'ancestor'"
    assert problem.pointer == "/app/graphs/0/activities/a1"


@requires_upstream
def test_misplaced_transition_key_warns_with_a_hint() -> None:
    manifest = load_app(SETUP / "apps/def/v2/hotmesh.yaml")
    (warning,) = manifest.warnings
    assert warning.pointer == "/app/graphs/0/transitions/a1/1/code"
    assert warning.message.endswith("(did you mean 'conditions.code'?)")
    assert warning.line == 101


def test_a_near_miss_of_a_known_key_is_an_error_with_a_hint() -> None:
    problems = _errors(
        "          type: hook\n        b1:\n          type: hook\n",
        "        t1:\n          - to: a1\n            condition:\n              code: 200\n"
        "          - to: b1\n",
    )
    assert problems == [
        "<string>:16:13: unknown key 'condition' (did you mean 'conditions'?)"
        " (at /app/graphs/0/transitions/t1/0/condition)"
    ]


def test_a_near_miss_of_a_type_specific_key_is_an_error() -> None:
    assert _errors(
        "          type: worker\n          topic: w\n          retri: {}\n"
    ) == [
        "<string>:12:11: unknown key 'retri' (did you mean 'retry'?)"
        " (at /app/graphs/0/activities/a1/retri)"
    ]
    # the misspelt key also leaves a required one missing: both are reported
    assert _errors("          type: worker\n          topik: work\n") == [
        "<string>:9:9: 'a1' is missing required key 'topic'"
        " (at /app/graphs/0/activities/a1)",
        "<string>:11:11: unknown key 'topik' (did you mean 'topic'?)"
        " (at /app/graphs/0/activities/a1/topik)",
    ]


def test_keys_of_another_activity_type_are_not_suggested() -> None:
    # 'sleep' belongs to hooks: on a worker, 'slept' is just unknown
    manifest = load_app(
        HEAD + "          type: await\n          topic: x\n          slept: 1\n"
    )
    assert [w.message for w in manifest.warnings] == ["unknown key 'slept' is ignored"]
