"""hotmesh validate / hotmesh compile: output and exit codes, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotmesh.cli import main

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_validate_clean_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "graphs/order.yaml", "graphs/hello.yaml"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "graphs/order.yaml: ok",
        "graphs/hello.yaml: ok",
    ]


def test_validate_reports_problems_and_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = "graphs/invalid/23-transition-to-unknown.yaml"
    assert main(["validate", "graphs/order.yaml", broken]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "graphs/order.yaml: ok"
    assert out[1].startswith(
        f"{broken}:16:13: transition from 'a1' to unknown activity 'a2'"
    )


def test_validate_warnings_alone_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "orphan.yaml"
    manifest.write_text(
        "app:\n  id: orphan\n  version: '1'\n  graphs:\n    - subscribes: o\n"
        "      activities:\n        t:\n          type: trigger\n        lost:\n"
        "          type: hook\n"
    )
    assert main(["validate", str(manifest)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "warning: activity 'lost' is not reachable" in out[0]
    assert out[1] == f"{manifest}: ok (1 warning)"


def test_validate_needs_a_file() -> None:
    assert main(["validate"]) == 2


def test_compile_prints_the_plan_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "graphs/order.yaml"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["format"] == 1
    assert document["app"]["id"] == "orders"
    assert document["activities"]["reserveItem"]["ancestors"] == [
        "order",
        "checkInventory",
    ]


def test_compile_of_a_broken_manifest_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "graphs/invalid/21-two-triggers.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: graphs/invalid/21-two-triggers.yaml:10:9: ")


def test_validate_checks_manifest_schedules_as_deploy_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "timed.yaml"
    manifest.write_text(
        "app:\n  id: timed\n  version: '1'\n  schedules:\n"
        "    - {id: n, topic: t, cron: '0 2 * * *', timezone: Europe/Berln}\n"
        "  graphs:\n    - subscribes: t\n      activities:\n"
        "        t: {type: trigger}\n"
    )
    assert main(["validate", str(manifest)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{manifest}:5:44: schedule option 'timezone': unknown time zone "
        "'Europe/Berln' (use an IANA name like 'Europe/Berlin') "
        "(at /app/schedules/0/timezone)"
    ]
