"""A user's clone passes on its own: no ``../shared`` beside it.

The checkout's files are copied into an empty folder and the tests that read
upstream's manifests when they can run there: our own conformance tier passes,
the upstream tier is skipped with a reason naming the folder. (.ci/run runs
the whole README command in a fresh clone; this is its quick, local twin.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: every test module that reads ../shared/hotmesh-tests when it is there
UPSTREAM_READERS = [
    "tests/unit/graph/test_validate.py",
    "tests/unit/graph/test_loader.py",
    "tests/unit/compiler/test_plans.py",
    "tests/unit/expr/test_manifests.py",
    "tests/integration/test_abc.py",
    "tests/integration/test_tree_meta.py",
]


def _copy_checkout(into: Path) -> Path:
    """The checkout's tracked files (what a clone has; not a venv inside it)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    clone = into / "hotmesh"
    archive = into / "files.tar"
    with tarfile.open(archive, "w") as tar:
        for name in filter(None, listed):
            if (ROOT / name).exists():
                tar.add(ROOT / name, arcname=name)
    with tarfile.open(archive) as tar:
        tar.extractall(clone, filter="data")
    return clone


@pytest.mark.slow
def test_the_upstream_tier_skips_naming_the_folder_and_ours_runs(
    tmp_path: Path, pg_server: str
) -> None:
    clone = _copy_checkout(tmp_path)
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTMESH_")}
    env |= {"PYTHONPATH": str(clone), "HOTMESH_TEST_DSN": pg_server}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            *UPSTREAM_READERS,
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    # named by the clone's own tests/upstream.py: the folder beside the clone
    beside = str(tmp_path / "shared" / "hotmesh-tests")
    assert skipped and all(beside in line for line in skipped), skipped
    assert " passed" in done.stdout
