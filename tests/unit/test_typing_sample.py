"""The typing sample (tests/typing/sample.py) passes ``mypy --strict``: run
as a user would, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "typing" / "sample.py"


def test_handles_proxies_and_payloads_type_check_as_documented() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--warn-unused-ignores",
            "--no-incremental",
            "--no-error-summary",
            "--python-version",
            "3.11",
            str(SAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=SAMPLE.parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr
