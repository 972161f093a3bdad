"""The ``hotmesh`` command line: one click group, one module per command group."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

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
@click.option(
    "--dsn",
    envvar="HOTMESH_DSN",
    show_envvar=True,
    metavar="DSN",
    help="PostgreSQL DSN for every command. Without it, DATABASE_URL; without "
    "that, the embedded server in $HOTMESH_HOME.",
)
@click.option(
    "--schema",
    envvar="HOTMESH_SCHEMA",
    show_envvar=True,
    metavar="NAME",
    help="Schema holding hotmesh's tables  [default: hotmesh]",
)
@click.version_option(package_name="hotmesh")
@click.pass_context
def cli(ctx: click.Context, debug: bool, dsn: str | None, schema: str | None) -> None:
    """Durable workflows on PostgreSQL."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _log_to_stderr(debug)
    ctx.obj["dsn"] = dsn
    ctx.obj["schema"] = schema


class _OneLine(logging.Formatter):
    """Log records as one line each: tracebacks only with --debug."""

    def formatException(self, ei: Any) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None
        text = super().format(record)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f": {type(exc).__name__}: {exc}".splitlines()[0]
        return text


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a test runner
    swaps it, and closes the one it swapped in)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _log_to_stderr(debug: bool) -> None:
    """Engine and worker warnings on stderr, one line each unless debugging."""
    handler = _Stderr()
    handler.setFormatter(
        logging.Formatter("hotmesh: %(levelname)s %(name)s: %(message)s")
        if debug
        else _OneLine("hotmesh: %(levelname)s %(message)s")
    )
    root = logging.getLogger("hotmesh")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if debug else logging.WARNING)
    root.propagate = False
    # Notices (which database is used) read as a plain "hotmesh: ..." line.
    plain = _Stderr()
    plain.setFormatter(logging.Formatter("hotmesh: %(message)s"))
    notice = logging.getLogger("hotmesh.notice")
    notice.handlers[:] = [plain]
    notice.propagate = False


def _register() -> None:
    # Command modules attach themselves to ``cli``; importing them here keeps
    # this module the single entry point.
    from hotmesh.cli import (  # noqa: F401
        app_cmds,
        change_cmds,
        dashboard_cmds,
        db_cmds,
        demo_cmds,
        graph_cmds,
        job_cmds,
        memflow_cmds,
        schedule_cmds,
        stats_cmds,
        worker_cmds,
        workflow_cmds,
        workflow_control,
        workflow_history,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 hotmesh error, 2 usage)."""
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or (
        os.environ.get("HOTMESH_DEBUG", "").lower() in ("1", "true", "yes", "on")
    )
    try:
        # Without standalone mode click *returns* a ctx.exit(code) code.
        result = cli.main(args=argv, prog_name="hotmesh", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        # one line, like every other error; --help has the full usage
        where = exc.ctx.command_path if exc.ctx is not None else "hotmesh"
        click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except errors.HotMeshError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return 1
    except Exception as exc:  # anything unexpected: still one line without --debug
        if debug:
            raise
        click.echo(
            f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            err=True,
        )
        return 1
    return result if isinstance(result, int) else 0
