"""validate and compile: manifest commands that need no database."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hotmesh import compiler, errors
from hotmesh.cli import cli
from hotmesh.cli.common import ref_root_option
from hotmesh.graph import bundle
from hotmesh.resources import schemas_dir
from hotmesh.schedules import manifest as manifest_schedules


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@ref_root_option
@click.option(
    "--strict",
    is_flag=True,
    envvar="HOTMESH_STRICT",
    show_envvar=True,
    help="Treat every warning (unknown key, unreachable activity) as an error.",
)
@click.pass_context
def validate(
    ctx: click.Context, files: tuple[str, ...], ref_root: str | None, strict: bool
) -> None:
    """Check manifests: YAML, $ref, schema and semantic rules.

    Prints every problem as file:line:col: message (warnings prefixed
    "warning:"), or FILE: ok. Exits 1 when any file has an error. A $ref may
    read only regular files inside the manifest's folder (or --ref-root).
    """
    failed = False
    for path in files:
        problems = compiler.validate(path, strict=strict, ref_root=ref_root)
        if not any(p.severity == "error" for p in problems):
            # what deploy checks beyond the compiler: cron, zone, periods, topics
            problems += manifest_schedules.problems(path, ref_root)
        for problem in problems:
            click.echo(str(problem))
        errors = sum(1 for p in problems if p.severity == "error")
        if errors:
            failed = True
            continue
        warnings = len(problems)
        suffix = (
            f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        )
        click.echo(f"{path}: ok{suffix}")
    if failed:
        ctx.exit(1)


@cli.command(name="compile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--compact", is_flag=True, help="One line of JSON instead of indented.")
@ref_root_option
def compile_cmd(file: str, compact: bool, ref_root: str | None) -> None:
    """Compile a manifest and print its plan document as JSON."""
    plan = compiler.compile_source(file, ref_root=ref_root)
    document = compiler.plan_to_document(plan)
    click.echo(json.dumps(document, indent=None if compact else 2, ensure_ascii=False))


@cli.command()
@click.option(
    "--path",
    "show_path",
    is_flag=True,
    help="Print where the installed schema file is instead of the schema.",
)
def schema(show_path: bool) -> None:
    """Print the manifest JSON Schema: one self-contained file, for editors.

    Use it with yaml-language-server (VS Code's YAML extension and others):
    a modeline '# yaml-language-server: $schema=PATH' in a manifest, or
    yaml.schemas in VS Code settings (docs/howto/editor.md).
    """
    if not show_path:
        click.echo(bundle.render(), nl=False)
        return
    path = Path(str(schemas_dir() / bundle.BUNDLE_FILE)).resolve()
    if not path.is_file():
        raise errors.ConfigError(
            f"the schema file is missing from this install ({path}); "
            f"'hotmesh schema > FILE' writes one"
        )
    click.echo(str(path))
