"""pub, pubsub, status, history, jobs: starting and reading jobs (changing them: ``change_cmds``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hotmesh import errors
from hotmesh.cli import cli
from hotmesh.cli.common import (
    app_of_job,
    app_option,
    check_id,
    client,
    console,
    data_option,
    db_options,
    dumps,
    parse_data,
    pick_app,
    run,
    settings,
    store,
    when,
)
from hotmesh.cli.views import history_document, load_history, render_history
from hotmesh.cli.worker_cmds import codec_option, load_object
from hotmesh.compiler import plan_from_document
from hotmesh.engine.step import job_output
from hotmesh.engine.waiting import waits
from hotmesh.memflow import codec as payload_codec
from hotmesh.mesh import HotMesh
from hotmesh.store import job_state

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
_JSON_HELP = "Print JSON instead of a table."
_TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    default=10.0,
    show_default=True,
    envvar="HOTMESH_TIMEOUT",
    show_envvar=True,
    help="Seconds to wait for the job to finish.",
)


def _json_flag(command: str) -> Callable[[F], F]:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        envvar=f"HOTMESH_{command.upper()}_JSON",
        show_envvar=True,
        help=_JSON_HELP,
    )


# --------------------------------------------------------------------------
# starting jobs


@cli.command()
@click.argument("topic")
@data_option()
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1),
    metavar="N",
    default=1,
    show_default=True,
    envvar="HOTMESH_PUB_COUNT",
    show_envvar=True,
    help="Start this many jobs with the same data (a progress bar shows on "
    "stderr). A graph that takes its job id from the data needs distinct data.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    metavar="N",
    default=16,
    show_default=True,
    envvar="HOTMESH_PUB_CONCURRENCY",
    show_envvar=True,
    help="Publishes in flight at once with --count.",
)
@click.option(
    "--delay",
    metavar="DURATION",
    envvar="HOTMESH_PUB_DELAY",
    show_envvar=True,
    help="Create the job now, status scheduled, and start it after this long "
    "('90s', '10m', '2h'; any running engine starts it).",
)
@click.option(
    "--start-at",
    metavar="ISO",
    envvar="HOTMESH_PUB_START_AT",
    show_envvar=True,
    help="Like --delay, at this time (ISO 8601 with an offset).",
)
@app_option()
@db_options
@click.pass_context
def pub(
    ctx: click.Context,
    topic: str,
    data: str | None,
    count: int,
    concurrency: int,
    delay: str | None,
    start_at: str | None,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Start a job on TOPIC and print its id (do not wait for it).

    Workers and engines in other processes (`hotmesh worker`, your app) run
    it. The graph's input schema is checked first; a bad input writes nothing.
    """
    later: dict[str, Any] = {"delay": delay, "start_at": start_at}
    check_id(topic, "topic")
    payload = parse_data(data)
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> list[str]:
        async with store(url, schema_name) as opened:
            hm = client(opened, await pick_app(opened, app_id))
            if count == 1:
                return [await hm.pub(topic, payload, **later)]
            return await _pub_many(hm, topic, payload, count, concurrency, later)

    started = time.perf_counter()
    ids = run(go())
    for job_id in ids:
        click.echo(job_id)
    if count > 1:
        elapsed = time.perf_counter() - started
        click.echo(f"published {len(ids)} jobs in {elapsed:.2f} s", err=True)


async def _pub_many(
    hm: HotMesh,
    topic: str,
    payload: dict[str, Any],
    count: int,
    concurrency: int,
    later: dict[str, Any],
) -> list[str]:
    async def one() -> str:
        return await hm.pub(topic, dict(payload), **later)

    return await _many("publishing", count, concurrency, one)


async def _many(
    label: str,
    count: int,
    concurrency: int,
    one: Callable[[], Awaitable[T]],
) -> list[T]:
    """``count`` calls of ``one``, ``concurrency`` at a time, in order, with a
    progress bar on stderr."""
    gate = asyncio.Semaphore(concurrency)
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=False,
    ) as progress:
        bar = progress.add_task(label, total=count)

        async def step() -> T:
            async with gate:
                result = await one()
            progress.advance(bar)
            return result

        return list(await asyncio.gather(*(step() for _ in range(count))))


@cli.command()
@click.argument("topic")
@data_option()
@_TIMEOUT
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1),
    metavar="N",
    default=1,
    show_default=True,
    envvar="HOTMESH_PUBSUB_COUNT",
    show_envvar=True,
    help="Run this many jobs with the same data and wait for all (a progress "
    "bar shows on stderr); prints a JSON list of outputs.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    metavar="N",
    default=16,
    show_default=True,
    envvar="HOTMESH_PUBSUB_CONCURRENCY",
    show_envvar=True,
    help="Jobs in flight at once with --count.",
)
@app_option()
@db_options
@click.pass_context
def pubsub(
    ctx: click.Context,
    topic: str,
    data: str | None,
    timeout: float,
    count: int,
    concurrency: int,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Start a job on TOPIC, wait for it, and print its output as JSON.

    This process runs an engine while it waits, so graphs without workers
    finish on their own; worker activities need workers running somewhere
    (`hotmesh worker`). A failed job prints its error and exits 1.
    """
    check_id(topic, "topic")
    payload = parse_data(data)
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> Any:
        async with store(url, schema_name) as opened:
            app = await pick_app(opened, app_id)
        hm = await HotMesh.init(
            app_id=app,
            engine={"connection": {"dsn": url}, "schema": schema_name, "pool_size": 4},
        )
        async with hm:
            if count == 1:
                return await hm.pubsub(topic, payload, timeout=timeout)
            return await _pubsub_many(hm, topic, payload, timeout, count, concurrency)

    result = run(go())
    click.echo(dumps(result))
    if count > 1:
        failed = [r for r in result if "error" in r]
        if failed:
            raise errors.HotMeshError(
                f"{len(failed)} of {count} jobs failed; the first: {failed[0]['error']}"
            )


async def _pubsub_many(
    hm: HotMesh,
    topic: str,
    payload: dict[str, Any],
    timeout: float,
    count: int,
    concurrency: int,
) -> list[dict[str, Any]]:
    """Run *count* jobs; each entry is an output, or ``{"error": message}``."""

    async def one() -> dict[str, Any]:
        try:
            return await hm.pubsub(topic, dict(payload), timeout=timeout)
        except errors.HotMeshError as exc:
            return {"error": str(exc)}

    return await _many("waiting for jobs", count, concurrency, one)


# --------------------------------------------------------------------------
# reading jobs


@cli.command()
@click.argument("job_id")
@_json_flag("status")
@app_option()
@codec_option
@db_options
@click.pass_context
def status(
    ctx: click.Context,
    job_id: str,
    as_json: bool,
    app_id: str | None,
    codec: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Show a job's state (running, done or error) and its output (MemFlow
    payloads stored by a codec are decoded with --codec)."""
    check_id(job_id, "job id")
    url, schema_name = settings(ctx, dsn, schema)
    decoder = (
        payload_codec.check(load_object(codec, "codec"), "--codec") if codec else None
    )

    async def go() -> tuple[
        dict[str, Any], dict[str, Any], list[dict[str, Any]], list[str]
    ]:
        async with store(url, schema_name) as opened:
            app = await app_of_job(opened, job_id, app_id)
            summary = await opened.job_summary(app, job_id)
            if summary is None:
                raise errors.JobNotFoundError(job_id)
            job = await opened.read_job(
                app, job_id, with_activities=True, include_expired=True
            )
            if job is None:
                raise errors.JobNotFoundError(job_id)
            early = await opened.early_signals(app, job_id, None, 100)
            doc = await opened.get_plan(app, job.version)
            plan = plan_from_document(doc) if doc is not None else None
            output = job_output(job)
            if decoder is not None:  # else the envelopes are shown as stored
                output = await payload_codec.unseal_tree(decoder, output)
            return summary, output, early, waits(plan, job)

    summary, output, early, waiting = run(go())
    state = job_state(summary)
    if as_json:
        click.echo(
            dumps(
                {
                    "state": state,
                    **summary,
                    "waiting": waiting,
                    "output": output,
                    "early_signals": early,
                }
            )
        )
        return
    out = console()
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    style = {"scheduled": "cyan", "running": "yellow", "done": "green", "error": "red"}[
        state
    ]
    rows = [
        ("job", escape(summary["job_id"])),
        ("app", f"{escape(summary['app_id'])} version {escape(summary['version'])}"),
        ("topic", escape(summary["topic"])),
        ("state", f"[{style}]{state}[/] (semaphore {summary['status']})"),
        ("created", when(summary["created_at"]) + " UTC"),
        ("updated", when(summary["updated_at"]) + " UTC"),
    ]
    if summary.get("parent_job_id"):
        rows.append(("parent", escape(summary["parent_job_id"])))
    if summary.get("err"):
        rows.append(("error", escape(summary["err"])))
    for what in waiting:
        rows.append(("waiting on", escape(what)))
    for kept in early:
        rows.append(
            (
                "early signal",
                f"{escape(kept['key'])}: {kept['count']} kept ({kept['bytes']} bytes) "
                f"until {when(kept['expires_at'])} UTC",
            )
        )
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
    click.echo(dumps(output))


@cli.command()
@click.argument("job_id")
@_json_flag("history")
@click.option(
    "--explain",
    is_flag=True,
    help="Also show why each activity run took its branch: every transition, "
    "whether it fired, and the values its conditions compared.",
)
@app_option()
@db_options
@click.pass_context
def history(
    ctx: click.Context,
    job_id: str,
    as_json: bool,
    explain: bool,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """A timeline of every activity a job ran, with its child jobs as a tree.

    With --explain, also why the job went the way it did: for each activity
    run, every transition out of it, whether it fired, and the values its
    conditions compared (as recorded by the step that ran it; values longer
    than 120 characters are cut).
    """
    check_id(job_id, "job id")
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> Any:
        async with store(url, schema_name) as opened:
            app = await app_of_job(opened, job_id, app_id)
            return await load_history(opened, app, job_id, explain=explain)

    found = run(go())
    if as_json:
        click.echo(dumps(history_document(found)))
    else:
        console().print(render_history(found, explain=explain))


@cli.command()
@click.option(
    "--status",
    "state",
    type=click.Choice(["scheduled", "running", "done", "error"]),
    envvar="HOTMESH_JOBS_STATUS",
    show_envvar=True,
    help="Only jobs in this state.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    default=20,
    show_default=True,
    envvar="HOTMESH_JOBS_LIMIT",
    show_envvar=True,
    help="At most this many jobs, newest first.",
)
@_json_flag("jobs")
@click.option(
    "--app",
    "app_id",
    envvar="HOTMESH_APP",
    show_envvar=True,
    metavar="APP",
    help="Only this app's jobs  [default: every app]",
)
@db_options
@click.pass_context
def jobs(
    ctx: click.Context,
    state: str | None,
    limit: int,
    as_json: bool,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """List jobs, newest first."""
    if app_id:
        check_id(app_id, "app id")
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> list[dict[str, Any]]:
        async with store(url, schema_name) as opened:
            return await opened.list_jobs(app_id or None, state, limit)

    rows = run(go())
    if as_json:
        click.echo(dumps([{"state": job_state(r), **r} for r in rows]))
        return
    out = console()
    if not rows:
        out.print("no jobs")
        return
    table = Table("job", "app", "topic", "version", "state", "created (UTC)", "took")
    for row in rows:
        row_state = job_state(row)
        took = ""
        if row_state not in ("scheduled", "running"):
            ms = (row["updated_at"] - row["created_at"]).total_seconds() * 1000
            took = f"{ms:.0f} ms"
        style = {
            "scheduled": "cyan",
            "running": "yellow",
            "done": "green",
            "error": "red",
        }[row_state]
        table.add_row(
            escape(row["job_id"]),
            escape(row["app_id"]),
            escape(row["topic"]),
            escape(row["version"]),
            f"[{style}]{row_state}[/]",
            when(row["created_at"]),
            took,
        )
    out.print(table)
