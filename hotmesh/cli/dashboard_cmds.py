"""dashboard: serve the web console (Starlette + uvicorn, the ``dashboard`` extra)."""

from __future__ import annotations

import click

from hotmesh import errors
from hotmesh.cli import cli
from hotmesh.cli.common import db_options, settings
from hotmesh.cli.worker_cmds import codec_option, load_object
from hotmesh.memflow import codec as payload_codec


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="HOTMESH_DASHBOARD_HOST",
    show_envvar=True,
    help="Address to bind (beyond loopback only with --token).",
)
@click.option(
    "--port",
    default=8787,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="HOTMESH_DASHBOARD_PORT",
    show_envvar=True,
    help="Port to listen on.",
)
@click.option(
    "--read-only",
    is_flag=True,
    envvar="HOTMESH_DASHBOARD_READ_ONLY",
    show_envvar=True,
    help="No actions: the pages show none and the server refuses them.",
)
@click.option(
    "--token",
    envvar="HOTMESH_DASHBOARD_TOKEN",
    show_envvar=True,
    metavar="SECRET",
    help="Require this token (bearer header, or the login form's cookie).",
)
@codec_option
@db_options
@click.pass_context
def dashboard(
    ctx: click.Context,
    host: str,
    port: int,
    read_only: bool,
    token: str | None,
    codec: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Serve the web console: overview, apps, jobs, workflows, escalations.

    It binds to 127.0.0.1 unless --host says otherwise, and a bind reachable
    from other machines needs --token. Stop it with Ctrl-C.
    """
    try:
        from hotmesh.dashboard import create_app, serve
        from hotmesh.dashboard.security import LOOPBACK_NAMES, check_bind
    except ImportError as exc:
        raise errors.ConfigError(
            f"the dashboard needs the 'dashboard' extra ({exc.name} is missing): "
            "pip install 'hotmesh[dashboard]'"
        ) from None
    check_bind(host, token)
    url, schema_name = settings(ctx, dsn, schema)
    app = create_app(
        dsn=url,
        read_only=read_only,
        token=token,
        schema=schema_name,
        codec=payload_codec.check(load_object(codec, "codec"), "--codec")
        if codec
        else None,
        # without a token only loopback names are answered (DNS rebinding)
        allowed_hosts=LOOPBACK_NAMES if token is None else None,
    )

    def started(bound: str, real_port: int) -> None:
        shown = f"[{bound}]" if ":" in bound else bound
        click.echo(
            f"hotmesh dashboard on http://{shown}:{real_port}/ (Ctrl-C to stop)",
            err=True,
        )

    server = serve.Server(serve.config(app, host, port), started)
    server.run()
    if not server.started:
        raise errors.ConfigError(f"could not listen on {host}:{port} (see above)")
