"""deploy, activate, apps: the versions of apps stored in the database."""

from __future__ import annotations

import logging
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from hotmesh import compiler
from hotmesh.cli import cli
from hotmesh.cli.common import (
    app_option,
    client,
    console,
    db_options,
    pick_app,
    ref_root_option,
    run,
    settings,
    store,
    when,
)
from hotmesh.graph import load_app
from hotmesh.upkeep import deploy_log


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--activate",
    is_flag=True,
    envvar="HOTMESH_DEPLOY_ACTIVATE",
    show_envvar=True,
    help="Also make the deployed version active.",
)
@ref_root_option
@click.option(
    "--strict",
    is_flag=True,
    envvar="HOTMESH_STRICT",
    show_envvar=True,
    help="Refuse the manifest if it has any warning (unknown key, unreachable activity).",
)
@db_options
@click.pass_context
def deploy(
    ctx: click.Context,
    file: str,
    activate: bool,
    ref_root: str | None,
    strict: bool,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Compile a manifest and store it as a new version of its app.

    Warnings are printed (to stderr) and do not stop the deploy unless
    --strict. Deploying the identical plan again is a no-op; a different plan
    under an existing version is refused (bump app.version).
    """
    # manifest errors before any connection, so nothing is stored
    manifest = load_app(file, ref_root=ref_root)
    plan, warnings = compiler.compile_checked(manifest, strict)
    for warning in warnings:
        click.echo(str(warning), err=True)
    # printed above, before connecting: HotMesh.deploy must not log them again
    deploy_log.setLevel(logging.ERROR)
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> None:
        async with store(url, schema_name) as opened:
            hm = client(opened, plan.app_id)
            await hm.deploy(file, strict=strict, ref_root=ref_root)
            if activate:
                await hm.activate(plan.version)

    run(go())
    state = " and activated" if activate else ""
    console().print(
        f"deployed app {escape(plan.app_id)} version {escape(plan.version)}{state}"
    )


@cli.command()
@click.argument("version")
@app_option()
@db_options
@click.pass_context
def activate(
    ctx: click.Context,
    version: str,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Make a deployed VERSION active; running processes switch at once (NOTIFY)."""
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> str:
        async with store(url, schema_name) as opened:
            app = await pick_app(opened, app_id)
            await client(opened, app).activate(version)
            return app

    app = run(go())
    console().print(f"activated app {escape(app)} version {escape(version)}")


@cli.command()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="HOTMESH_APPS_JSON",
    show_envvar=True,
    help="Print JSON instead of a table.",
)
@db_options
@click.pass_context
def apps(
    ctx: click.Context, as_json: bool, dsn: str | None, schema: str | None
) -> None:
    """List deployed app versions, when each was deployed, and which is active."""
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> list[dict[str, Any]]:
        async with store(url, schema_name) as opened:
            return await opened.list_apps()

    rows = run(go())
    if as_json:
        from hotmesh.cli.common import dumps

        click.echo(dumps(rows))
        return
    out = console()
    if not rows:
        out.print("no apps deployed")
        return
    table = Table("app", "version", "deployed_at (UTC)", "active")
    for row in rows:
        table.add_row(
            escape(row["app_id"]),
            escape(row["version"]),
            when(row["deployed_at"]),
            "[green]active[/]" if row["active"] else "",
        )
    out.print(table)
