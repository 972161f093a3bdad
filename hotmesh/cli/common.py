"""Shared pieces of the database commands: options, the DSN line, clients, output."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from hotmesh import config, errors, ids
from hotmesh.mesh import HotMesh
from hotmesh.store.postgres import PostgresStore

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

DSN_HELP = (
    "PostgreSQL DSN. Without it, DATABASE_URL; without that, the embedded "
    "server in $HOTMESH_HOME."
)


def console(stderr: bool = False) -> Console:
    """A rich console that never folds long ids or DSNs (pipes, tests).

    Piped output gets a wide page (unless COLUMNS says otherwise), so tables
    keep whole job ids for scripts and logs.
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty() and not os.environ.get("COLUMNS"):
        width = 160
    return Console(highlight=False, soft_wrap=True, stderr=stderr, width=width)


def db_options(fn: F) -> F:
    """``--dsn`` and ``--schema`` on a command (they override the group's)."""
    fn = click.option(
        "--schema",
        envvar="HOTMESH_SCHEMA",
        show_envvar=True,
        default=None,
        metavar="NAME",
        help="Schema holding hotmesh's tables  [default: hotmesh]",
    )(fn)
    fn = click.option(
        "--dsn", envvar="HOTMESH_DSN", show_envvar=True, metavar="DSN", help=DSN_HELP
    )(fn)
    return fn


def app_option(required: bool = False) -> Callable[[F], F]:
    """``--app``: the app id (when omitted, the only app in the database)."""
    text = "App id." if required else "App id  [default: the only deployed app]"
    return click.option(
        "--app",
        "app_id",
        envvar="HOTMESH_APP",
        show_envvar=True,
        required=required,
        metavar="APP",
        help=text,
    )


def data_option(required: bool = False) -> Callable[[F], F]:
    """``--data JSON`` or ``--data @file.json``."""
    return click.option(
        "--data",
        "-d",
        envvar="HOTMESH_DATA",
        show_envvar=True,
        required=required,
        metavar="JSON|@FILE",
        help="A JSON object, or @path to a file holding one.",
    )


def pick(ctx: click.Context, name: str, value: str | None) -> tuple[str | None, str]:
    """A command option or the group's same-named one, and where it came from.

    The command line beats the environment, and at the same level the
    command's option beats the group's (both read the same env var).
    Returns ``(value, "option" | "env" | "")``.
    """
    root = ctx.find_root()
    group_value = root.params.get(name) if root is not ctx else None
    line = click.core.ParameterSource.COMMANDLINE
    if value and ctx.get_parameter_source(name) is line:
        return value, "option"
    if group_value and root.get_parameter_source(name) is line:
        return str(group_value), "option"
    if value:
        return value, "env"
    if group_value:
        return str(group_value), "env"
    return None, ""


def settings(
    ctx: click.Context, dsn: str | None, schema: str | None
) -> tuple[str, str]:
    """The DSN (command option, then the group's, then env, then embedded) and schema.

    Prints one stderr line naming the database in use.
    """
    dsn, _ = pick(ctx, "dsn", dsn)
    schema = pick(ctx, "schema", schema)[0] or "hotmesh"
    config.validate_name(schema, "schema name")
    explicit = config.configured_dsn(dsn)
    if explicit is None:
        # resolve_dsn starts (or reuses) the embedded server and logs its notice
        return config.resolve_dsn(None), schema
    click.echo(f"hotmesh: using PostgreSQL at {config.mask_dsn(explicit)}", err=True)
    return explicit, schema


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion."""
    return asyncio.run(coro)


@asynccontextmanager
async def store(dsn: str, schema: str) -> AsyncIterator[PostgresStore]:
    """An open store (migrated on first use), closed after."""
    opened = await PostgresStore.open(dsn, schema, pool_size=4)
    try:
        yield opened
    finally:
        await opened.close()


def client(opened: PostgresStore, app_id: str) -> HotMesh:
    """A HotMesh that uses the API without consuming any stream (no engine work here)."""
    return HotMesh.attach(app_id, opened)


def check_id(value: str, what: str) -> str:
    """*value* if it is a valid job/app/topic id, else ``ConfigError``."""
    return ids.check(value, what)


async def pick_app(opened: PostgresStore, app_id: str | None) -> str:
    """*app_id* (which must be deployed), or the only deployed app when none was given."""
    apps = sorted({row["app_id"] for row in await opened.list_apps()})
    if app_id:
        check_id(app_id, "app id")
        if app_id not in apps:
            known = f"deployed: {', '.join(apps)}" if apps else "none is deployed"
            raise errors.ConfigError(f"app '{app_id}' is not deployed ({known})")
        return app_id
    if len(apps) == 1:
        return str(apps[0])
    if not apps:
        raise errors.ConfigError("no app is deployed; run `hotmesh deploy FILE` first")
    raise errors.ConfigError(
        f"several apps are deployed ({', '.join(apps)}); pass --app or set HOTMESH_APP"
    )


async def app_of_job(opened: PostgresStore, job_id: str, app_id: str | None) -> str:
    """*app_id*, or the one app holding a job with this id."""
    check_id(job_id, "job id")
    if app_id:
        return check_id(app_id, "app id")
    apps = await opened.job_apps(job_id)
    if not apps:
        raise errors.JobNotFoundError(job_id)
    if len(apps) > 1:
        raise errors.ConfigError(
            f"job '{job_id}' exists in apps {', '.join(apps)}; pass --app"
        )
    return apps[0]


def parse_data(value: str | None) -> dict[str, Any]:
    """The ``--data`` value as a JSON object (``@file`` reads a file, ``@-`` stdin)."""
    if value is None or value == "":
        return {}
    where = "--data"
    text = value
    if value.startswith("@"):
        name = value[1:]
        where = name
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text("utf-8")
        except OSError as exc:
            raise errors.ConfigError(
                f"cannot read --data file {name}: {exc.strerror}"
            ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise errors.ConfigError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise errors.ConfigError(
            f"{where} must be a JSON object, not {type(data).__name__}"
        )
    return data


def dumps(value: Any) -> str:
    """Indented JSON (timestamps as ISO strings)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def when(value: datetime | None, date: bool = True) -> str:
    """A timestamp for tables: UTC, millisecond precision (time of day only if not *date*)."""
    if value is None:
        return ""
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return text if date else text[11:]


def ref_root_option(fn: Any) -> Any:
    """``--ref-root``: the folder ``$ref``s may read from (default: each manifest's)."""
    return click.option(
        "--ref-root",
        type=click.Path(file_okay=False, exists=True),
        default=None,
        help="Folder $refs may read files from (default: the manifest's folder).",
    )(fn)
