"""docs/quickstart.md, run as a reader runs it: its commands and snippets in order.

Shell blocks run with bash (``pip install`` lines are skipped: the test
environment is installed), ``background`` blocks (the worker) keep running for
the blocks after them, Python blocks run as scripts; all on one fresh database.
The demo's job ids are random: the id the page shows (``order-3f9c1a2b``) is
replaced by the one the demo printed.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, blocks
from tests.docs.test_doc_blocks import RUNNER, env_for, workdir

PAGE = ROOT / "docs" / "quickstart.md"
DEMO_ID = re.compile(r"order-[0-9a-f]{8}")


def _script(text: str) -> str:
    """The block without install lines (continuations joined by bash itself)."""
    return "\n".join(
        line
        for line in text.splitlines()
        if not line.lstrip().startswith("pip install")
    )


def _expected_demo_lines(output_block: str) -> list[str]:
    """Lines of the page's sample demo output that must appear as they are."""
    keep = []
    for line in output_block.splitlines():
        line = line.strip()
        if not line or line == "..." or DEMO_ID.search(line):
            continue
        if re.search(r"\d\d:\d\d|embedded|[━┃┏┡└│]", line):  # times, paths, table art
            continue
        keep.append(line)
    return keep


@pytest.mark.slow
def test_the_quickstart_runs_in_order(pg_dsn: str, tmp_path: Path) -> None:
    page = blocks(PAGE)
    cwd, env = workdir(tmp_path), env_for(pg_dsn)
    background: list[subprocess.Popen[str]] = []
    demo_id = ""
    ran = 0
    log = (tmp_path / "background.log").open("w")
    try:
        for i, block in enumerate(page):
            text = block.text.replace("order-3f9c1a2b", demo_id or "order-3f9c1a2b")
            if block.lang == "bash" and block.marker == "background":
                background.append(
                    subprocess.Popen(
                        ["bash", "-c", _script(text)],
                        cwd=cwd,
                        env=env,
                        text=True,
                        start_new_session=True,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                )
            elif block.lang == "bash":
                done = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", _script(text)],
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert done.returncode == 0, f"{block.where}:\n{done.stderr[-3000:]}"
                if "hotmesh demo" in text:
                    found = DEMO_ID.search(done.stdout)
                    assert found, done.stdout
                    demo_id = found.group(0)
                    sample = page[i + 1]
                    assert sample.lang == "", "the demo's sample output follows it"
                    for line in _expected_demo_lines(sample.text):
                        assert line in done.stdout, (line, done.stdout)
            elif block.lang == "python" and block.marker is None:
                if block.text.startswith("# conftest.py"):
                    continue  # a conftest line, run by test_doc_blocks with its test
                done = subprocess.run(
                    [sys.executable, str(RUNNER)],
                    input=text,
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert done.returncode == 0, f"{block.where}:\n{done.stderr[-3000:]}"
                assert done.stdout.strip() == "reserved", done.stdout
            else:
                continue
            ran += 1
    finally:
        for proc in background:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # the worker stops gracefully on Ctrl-C
        for proc in background:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
    assert demo_id and ran >= 7
    for proc in background:
        assert proc.returncode in (0, -signal.SIGINT, 130), (
            tmp_path / "background.log"
        ).read_text()
