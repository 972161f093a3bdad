"""The wheel a user installs: data files inside, licence and links in its metadata.

Builds the wheel as ``pip wheel`` does (an isolated build, ~10 s), then runs
``hotmesh schema --path`` from the installed files, not the checkout.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "project"
]
SOURCE = PROJECT["urls"]["Source"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("hotmesh-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_carries_the_schemas_graphs_and_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    schemas = {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert "hotmesh-manifest.json" in schemas
    assert {f"hotmesh/_schemas/{n}" for n in schemas} <= names
    assert "hotmesh/_graphs/order.yaml" in names
    assert "hotmesh/expr/grammar.lark" in names and "hotmesh/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


@pytest.mark.slow
def test_the_metadata_has_licence_urls_classifiers_and_absolute_links(
    wheel: Path,
) -> None:
    archive = zipfile.ZipFile(wheel)
    (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    meta = email.message_from_bytes(archive.read(meta_name))
    assert meta["License-Expression"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert f"Source, {SOURCE}" in meta.get_all("Project-URL")
    assert "Typing :: Typed" in meta.get_all("Classifier")
    description = meta.get_payload()
    links = re.findall(r"\]\(([^)\s]+)\)", description)
    assert len(links) > 20
    relative = [link for link in links if not re.match(r"https?://|#", link)]
    assert relative == []  # every link works on the package index
    for link in links:
        if link.startswith(SOURCE + "/blob/main/"):
            path = link.removeprefix(SOURCE + "/blob/main/").split("#")[0]
            assert (ROOT / path).exists(), link  # and points at a real file


@pytest.mark.slow
def test_schema_path_points_into_the_installed_package(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    done = subprocess.run(
        [sys.executable, "-m", "hotmesh", "schema", "--path"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path == target / "hotmesh" / "_schemas" / "hotmesh-manifest.json"
    assert path.read_text(encoding="utf-8") == (
        ROOT / "schemas" / "hotmesh-manifest.json"
    ).read_text(encoding="utf-8")
