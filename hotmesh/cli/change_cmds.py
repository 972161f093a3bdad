"""scrub, prune, signal, interrupt: changing jobs."""

from __future__ import annotations

import click
from rich.markup import escape

from hotmesh import errors, upkeep
from hotmesh.cli import cli
from hotmesh.cli.common import (
    app_of_job,
    app_option,
    check_id,
    client,
    console,
    data_option,
    db_options,
    parse_data,
    pick_app,
    run,
    settings,
    store,
)
from hotmesh.engine.options import DEFAULT_RETENTION

# --------------------------------------------------------------------------
# changing jobs


@cli.command()
@click.argument("job_id")
@app_option()
@db_options
@click.pass_context
def scrub(
    ctx: click.Context,
    job_id: str,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Delete a job and its whole history."""
    check_id(job_id, "job id")
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> str:
        async with store(url, schema_name) as opened:
            app = await app_of_job(opened, job_id, app_id)
            if not await opened.scrub(app, job_id):
                raise errors.JobNotFoundError(job_id)
            return app

    app = run(go())
    console().print(f"scrubbed job {escape(job_id)} of app {escape(app)}")


@cli.command()
@click.option(
    "--retention",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    default=DEFAULT_RETENTION,
    show_default=True,
    envvar="HOTMESH_RETENTION",
    show_envvar=True,
    help="Delete the jobs that expired longer ago than this.",
)
@app_option()
@db_options
@click.pass_context
def prune(
    ctx: click.Context,
    retention: float,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Delete expired jobs (with their history) and expired early signals now.

    Running engines do the same every minute with their own retention; this
    is for when none runs, or to free space at once.
    """
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> tuple[str, int, int]:
        async with store(url, schema_name) as opened:
            app = await pick_app(opened, app_id)
            with console(stderr=True).status("pruning") as shown:

                def progress(jobs: int, signals: int) -> None:
                    shown.update(f"pruning: {jobs} jobs, {signals} signals so far")

                total = await upkeep.prune(opened, app, retention, progress)
                return app, total["jobs"], total["signals"]

    app, jobs, signals = run(go())
    console().print(
        f"pruned {jobs} expired jobs and {signals} expired signals of app {escape(app)}"
    )


@cli.command()
@click.argument("topic")
@data_option(required=True)
@click.option(
    "--status",
    "signal_status",
    type=click.Choice(["success", "error"]),
    default="success",
    show_default=True,
    envvar="HOTMESH_SIGNAL_STATUS",
    show_envvar=True,
    help="Deliver the data as a success or an error.",
)
@click.option(
    "--code",
    type=int,
    default=200,
    show_default=True,
    envvar="HOTMESH_SIGNAL_CODE",
    show_envvar=True,
    help="Status code delivered with the signal.",
)
@click.option(
    "--keep",
    is_flag=True,
    envvar="HOTMESH_SIGNAL_KEEP",
    show_envvar=True,
    help="Keep the signal when no hook waits and no running job is known to "
    "want it (a job that has not started yet).",
)
@click.option(
    "--job",
    "job_id",
    metavar="JOB_ID",
    help="The job the signal is for: kept while it runs, refused once it ended.",
)
@app_option()
@db_options
@click.pass_context
def signal(
    ctx: click.Context,
    topic: str,
    data: str | None,
    signal_status: str,
    code: int,
    keep: bool,
    job_id: str | None,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Send DATA to the hook activities waiting on TOPIC (wakes paused jobs)."""
    check_id(topic, "topic")
    if job_id is not None:
        check_id(job_id, "job id")
    payload = parse_data(data)
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> str | None:
        async with store(url, schema_name) as opened:
            hm = client(opened, await pick_app(opened, app_id))
            return await hm.signal(
                topic,
                payload,
                status=signal_status,
                code=code,
                keep=keep,
                job_id=job_id,
            )

    resumed = run(go())
    if resumed is None:
        console().print(
            f"signalled {escape(topic)}: no hook waits yet; the signal is kept "
            "and delivered when one registers"
        )
    else:
        console().print(f"signalled {escape(topic)}: resumed job {escape(resumed)}")


@cli.command()
@click.argument("job_id")
@click.option(
    "--topic",
    envvar="HOTMESH_INTERRUPT_TOPIC",
    show_envvar=True,
    help="The job's topic  [default: read from the job]",
)
@click.option(
    "--reason",
    envvar="HOTMESH_INTERRUPT_REASON",
    show_envvar=True,
    help="Why, recorded in the job's error.",
)
@click.option(
    "--descend",
    is_flag=True,
    envvar="HOTMESH_INTERRUPT_DESCEND",
    show_envvar=True,
    help="Also interrupt its child jobs.",
)
@click.option(
    "--code",
    type=int,
    default=410,
    show_default=True,
    envvar="HOTMESH_INTERRUPT_CODE",
    show_envvar=True,
    help="Error code recorded on the job.",
)
@click.option(
    "--throw/--no-throw",
    default=True,
    show_default=True,
    envvar="HOTMESH_INTERRUPT_THROW",
    show_envvar=True,
    help="Record the interruption as the job's error (--no-throw: end it without one).",
)
@click.option(
    "--expire",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    envvar="HOTMESH_INTERRUPT_EXPIRE",
    show_envvar=True,
    help="Seconds to keep the interrupted job before it expires.",
)
@click.option(
    "--suppress",
    is_flag=True,
    envvar="HOTMESH_INTERRUPT_SUPPRESS",
    show_envvar=True,
    help="Exit 0 (not an error) when the job already finished.",
)
@app_option()
@db_options
@click.pass_context
def interrupt(
    ctx: click.Context,
    job_id: str,
    topic: str | None,
    reason: str | None,
    descend: bool,
    code: int,
    throw: bool,
    expire: float | None,
    suppress: bool,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Stop a running job (and with --descend its children)."""
    check_id(job_id, "job id")
    if topic is not None:
        check_id(topic, "topic")
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> bool:
        async with store(url, schema_name) as opened:
            app = await app_of_job(opened, job_id, app_id)
            job_topic = topic
            if job_topic is None:
                summary = await opened.job_summary(app, job_id)
                if summary is None:
                    raise errors.JobNotFoundError(job_id)
                job_topic = str(summary["topic"])
            return await client(opened, app).interrupt(
                job_topic,
                job_id,
                reason=reason,
                throw=throw,
                code=code,
                expire=expire,
                descend=descend,
                suppress=suppress,
            )

    if run(go()):
        console().print(f"interrupted job {escape(job_id)}")
    else:
        console().print(f"job {escape(job_id)} had already finished")
