"""Every code block of the README and docs/ is checked: what the docs show runs.

Python blocks run as scripts against a fresh database (``DATABASE_URL``), in a
folder where ``graphs/`` and ``examples/`` are the checkout's; YAML manifests
validate with no error; every ``hotmesh ...`` line of a shell block parses as
the CLI would parse it (command, options, arguments); fragments (marked, see
tests/docs/blocks.py) must at least parse. The quickstart's shell session runs
in test_quickstart.py.
"""

from __future__ import annotations

import ast
import os
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from hotmesh import compiler
from hotmesh.cli import _register, cli
from tests.docs.blocks import ROOT, Block, every_block

BLOCKS = every_block()
RUNNER = Path(__file__).with_name("run_block.py")
CHECKED = {"python", "yaml", "json"}
HINT = (
    "A block that is not a whole program (names defined elsewhere, '...' "
    "placeholders) gets '<!-- doctest: fragment -->' on the line above its "
    "fence (tests/docs/blocks.py)."
)


def workdir(into: Path) -> Path:
    """A folder where the docs' relative paths (graphs/, examples/) resolve."""
    for name in ("graphs", "examples"):
        (into / name).symlink_to(ROOT / name, target_is_directory=True)
    return into


def env_for(dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTMESH_")}
    env["DATABASE_URL"] = dsn
    env["PYTHONPATH"] = str(ROOT)
    # the 'hotmesh' command of this interpreter, even when its venv is not activated
    env["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), env.get("PATH", "")]
    )
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
    assert done.returncode == 0, f"{block.where} failed:\n{done.stderr[-3000:]}\n{HINT}"


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


def _command_lines(text: str) -> list[str]:
    """``hotmesh ...`` command lines of a shell block, continuations joined."""
    joined = text.replace("\\\n", " ")
    return [
        line.strip()
        for line in joined.splitlines()
        if line.strip().startswith("hotmesh ")
    ]


SHELL = [b for b in BLOCKS if b.lang == "bash" and b.marker != "fragment"]


def parse_command(line: str) -> None:
    """Parse a ``hotmesh ...`` line as the CLI would; raise click's UsageError if it cannot."""
    _register()
    words = [w for w in shlex.split(line, comments=True) if w != "..."]  # "and so on"
    for stop in (">", "|"):  # a redirect or a pipe ends the command's own words
        if stop in words:
            words = words[: words.index(stop)]
    command: click.Command = cli
    ctx = command.make_context("hotmesh", words[1:])
    while isinstance(command, click.Group):
        with warnings.catch_warnings():  # click 8.2 deprecates it; 9 folds it into args
            warnings.simplefilter("ignore", DeprecationWarning)
            protected = list(getattr(ctx, "protected_args", []))
        args = [*protected, *ctx.args]
        if not args:
            return
        name, sub, rest = command.resolve_command(ctx, args)
        assert sub is not None and name is not None, line
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


def test_a_misspelt_option_in_a_shown_command_is_caught() -> None:
    parse_command("hotmesh deploy graphs/order.yaml --activate")
    with pytest.raises(click.UsageError, match="--activte"):
        parse_command("hotmesh deploy graphs/order.yaml --activte")
    with pytest.raises(click.UsageError, match="deplo"):
        parse_command("hotmesh deplo graphs/order.yaml")


@pytest.mark.parametrize(
    "block", [b for b in SHELL if _command_lines(b.text)], ids=lambda b: b.where
)
def test_shell_block_commands_and_options_exist(block: Block) -> None:
    """Every ``hotmesh`` command a page shows parses: the command, its options, its arguments."""
    for line in _command_lines(block.text):
        parse_command(line)
