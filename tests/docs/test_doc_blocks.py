"""Every code block of the README and docs/ is checked: what the docs show runs.

Python blocks run as scripts against a fresh database (``DATABASE_URL``), in a
folder where ``graphs/`` and ``examples/`` are the checkout's; YAML manifests
validate with no error; fragments (marked, see tests/docs/blocks.py) must at
least parse. The quickstart's shell session runs in test_quickstart.py.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from hotmesh import compiler
from tests.docs.blocks import ROOT, Block, every_block

BLOCKS = every_block()
RUNNER = Path(__file__).with_name("run_block.py")
CHECKED = {"python", "yaml", "json"}


def workdir(into: Path) -> Path:
    """A folder where the docs' relative paths (graphs/, examples/) resolve."""
    for name in ("graphs", "examples"):
        (into / name).symlink_to(ROOT / name, target_is_directory=True)
    return into


def env_for(dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTMESH_")}
    env["DATABASE_URL"] = dsn
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_the_pages_have_blocks_and_markers_are_known() -> None:
    assert len([b for b in BLOCKS if b.lang == "python"]) >= 10
    assert any(b.marker == "fragment" for b in BLOCKS)


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.lang in CHECKED], ids=lambda b: b.where
)
def test_block_parses(block: Block) -> None:
    if block.lang == "python":
        compile(block.text, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    else:
        YAML(typ="safe", pure=True).load(block.text)
    if block.lang == "yaml" and block.marker is None and block.text.startswith("app:"):
        # a whole manifest: it must validate, too
        problems = compiler.validate(block.text)
        assert [str(p) for p in problems if p.severity == "error"] == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.lang == "python" and b.marker is None],
    ids=lambda b: b.where,
)
def test_python_block_runs(block: Block, pg_dsn: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", str(RUNNER)],
        input=block.text,
        cwd=workdir(tmp_path),
        env=env_for(pg_dsn),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, f"{block.where} failed:\n{done.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.marker == "pytest"], ids=lambda b: b.where
)
def test_pytest_block_passes(block: Block, pg_server: str, tmp_path: Path) -> None:
    """A test module shown in the docs passes, with the conftest line they show."""
    folder = workdir(tmp_path)
    (folder / "conftest.py").write_text('pytest_plugins = ["hotmesh.testing"]\n')
    (folder / "test_from_docs.py").write_text(block.text)
    env = env_for("") | {"HOTMESH_TEST_DSN": pg_server}
    del env["DATABASE_URL"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "test_from_docs.py",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block.where} failed:\n{done.stdout[-3000:]}"
    assert " passed" in done.stdout
