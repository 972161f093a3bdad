"""The committed CLI and schema references match what they are generated from."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hotmesh import resources
from hotmesh.cli import cli
from hotmesh.cli import docs as cli_docs
from hotmesh.graph import schema_docs

DOCS = Path(__file__).resolve().parents[3] / "docs" / "reference"


def test_committed_cli_reference_is_current() -> None:
    path = DOCS / "cli.md"
    assert path.exists(), f"missing {path}; run: {cli_docs.REGENERATE}"
    assert path.read_text(encoding="utf-8") == cli_docs.render(), (
        f"docs/reference/cli.md is stale; run: {cli_docs.REGENERATE}"
    )


def test_committed_schema_reference_is_current() -> None:
    path = DOCS / "schema.md"
    assert path.exists(), f"missing {path}; run: {schema_docs.REGENERATE}"
    assert path.read_text(encoding="utf-8") == schema_docs.render(), (
        f"docs/reference/schema.md is stale; run: {schema_docs.REGENERATE}"
    )


def _commands() -> list[tuple[click.Command, click.Context]]:
    text = cli_docs.render()  # registers every command module
    assert text
    root = click.Context(cli, info_name="hotmesh", **cli.context_settings)
    return list(cli_docs.walk(cli, root))


def test_every_command_and_option_is_documented_with_an_env_var() -> None:
    text = cli_docs.render()
    commands = _commands()
    names = {ctx.command_path for _, ctx in commands}
    for expected in (
        "hotmesh db migrate",
        "hotmesh db status",
        "hotmesh deploy",
        "hotmesh activate",
        "hotmesh apps",
        "hotmesh pub",
        "hotmesh pubsub",
        "hotmesh status",
        "hotmesh history",
        "hotmesh jobs",
        "hotmesh scrub",
        "hotmesh signal",
        "hotmesh interrupt",
        "hotmesh worker",
        "hotmesh demo",
        "hotmesh validate",
        "hotmesh compile",
    ):
        assert expected in names
        assert f"## `{expected}`" in text
    for command, ctx in commands:
        for option in cli_docs.documented_options(command, ctx):
            env = cli_docs.env_var(option, ctx)
            assert env and env.startswith("HOTMESH_"), (ctx.command_path, option.name)
            assert f"`{env}`" in text


def test_schema_reference_covers_every_property_and_activity_type() -> None:
    text = schema_docs.render()
    activity = json.loads(
        (resources.schemas_dir() / "activity.schema.json").read_text("utf-8")
    )
    for kind in activity["properties"]["type"]["enum"]:
        assert f"`type: {kind}`" in text
    graph = json.loads(
        (resources.schemas_dir() / "graph.schema.json").read_text("utf-8")
    )
    for key in graph["properties"]:
        assert f"| `{key}` |" in text
    for name in activity["$defs"]:
        assert f"\n### {name}\n" in text
