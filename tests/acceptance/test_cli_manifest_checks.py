"""validate / deploy: a typo is an error, other warnings are printed, --strict refuses them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.acceptance.cli import hotmesh, ok
from tests.integration.test_deploy_checks import FIXED, TYPO


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_and_deploy_refuse_a_typo(pg_dsn: str, tmp_path: Path) -> None:
    manifest = _write(tmp_path, TYPO)
    line = (
        f"{manifest}:17:13: unknown key 'condition' (did you mean 'conditions'?)"
        " (at /app/graphs/0/transitions/t1/0/condition)"
    )
    checked = hotmesh("validate", manifest, home=tmp_path, dsn=None)
    assert checked.returncode == 1
    assert line in checked.stdout.splitlines()
    deployed = hotmesh("deploy", "--activate", manifest, home=tmp_path, dsn=pg_dsn)
    assert deployed.returncode == 1
    assert f"  {line}" in deployed.stderr.splitlines()
    assert "deployed" not in deployed.stdout


def test_deploy_prints_warnings_and_strict_refuses_them(
    pg_dsn: str, tmp_path: Path
) -> None:
    manifest = _write(tmp_path, FIXED)
    warning = (
        f"{manifest}:11:11: warning: unknown key 'notes' is ignored"
        " (at /app/graphs/0/activities/approve/notes)"
    )
    strict = hotmesh("deploy", "--strict", manifest, home=tmp_path, dsn=pg_dsn)
    assert strict.returncode == 1
    assert strict.stderr.splitlines()[-1] == (
        f"error: {manifest}:11:11: unknown key 'notes' is ignored"
        " (an error in strict mode) (at /app/graphs/0/activities/approve/notes)"
    )
    checked = hotmesh("validate", "--strict", manifest, home=tmp_path, dsn=None)
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        f"{manifest}:11:11: unknown key 'notes' is ignored (an error in strict mode)"
        " (at /app/graphs/0/activities/approve/notes)"
    ]
    # without --strict the same version deploys (the refusal stored nothing),
    # and the warning is printed once
    deployed = ok(hotmesh("deploy", manifest, home=tmp_path, dsn=pg_dsn))
    assert deployed.stderr.splitlines().count(warning) == 1
    assert "hotmesh: WARNING" not in deployed.stderr
    assert deployed.stdout.strip() == "deployed app typo version 1"


def test_schema_path_names_the_installed_schema_file(tmp_path: Path) -> None:
    where = hotmesh("schema", "--path", home=tmp_path, dsn=None)
    assert where.returncode == 0, where.stderr
    path = Path(where.stdout.strip())
    assert path.is_absolute() and path.name == "hotmesh-manifest.json"
    printed = hotmesh("schema", home=tmp_path, dsn=None)
    assert printed.returncode == 0 and printed.stdout == path.read_text("utf-8")
    assert json.loads(printed.stdout)["properties"]["app"]["required"] == [
        "id",
        "version",
        "graphs",
    ]
