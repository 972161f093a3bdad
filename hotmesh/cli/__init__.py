"""The ``hotmesh`` command line: one click group, one module per command group."""

from __future__ import annotations

import sys

import click

from hotmesh import errors


@click.group(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "auto_envvar_prefix": "HOTMESH",
    }
)
@click.option(
    "--debug", is_flag=True, envvar="HOTMESH_DEBUG", help="Show tracebacks on errors."
)
@click.version_option(package_name="hotmesh")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Durable workflows on PostgreSQL."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    # Command modules attach themselves to ``cli``; importing them here keeps
    # this module the single entry point.
    from hotmesh.cli import db_cmds, graph_cmds  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 hotmesh error, 2 usage)."""
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Without standalone mode click *returns* a ctx.exit(code) code.
        result = cli.main(args=argv, prog_name="hotmesh", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except errors.HotMeshError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return 1
    return result if isinstance(result, int) else 0
