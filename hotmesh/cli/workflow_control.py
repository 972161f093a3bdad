"""workflow cancel, terminate, reset: stop a MemFlow workflow, or re-run it from a step."""

from __future__ import annotations

import click

from hotmesh import errors
from hotmesh.cli.workflow_cmds import _call, _ended_as, _handle, _options, workflow
from hotmesh.memflow.client import Client

_REASON = click.option(
    "--reason",
    "-r",
    envvar="HOTMESH_REASON",
    show_envvar=True,
    help="Why: the workflow's error message carries it.",
)


def _stop(
    ctx: click.Context,
    workflow_id: str,
    verb: str,
    reason: str | None,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Cancel or terminate; a workflow that has already ended is a one-line error."""

    async def work(client: Client) -> None:
        handle = await _handle(client, workflow_id)
        try:
            if verb == "cancel":
                await handle.cancel(reason)
            else:
                await handle.terminate(reason or "terminated from the CLI")
        except errors.JobInactiveError:
            raise await _ended_as(handle, verb) from None

    _call(ctx, dsn, schema, namespace, work)


@workflow.command("cancel")
@click.argument("workflow_id")
@_REASON
@_options
@click.pass_context
def workflow_cancel(
    ctx: click.Context,
    workflow_id: str,
    reason: str | None,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Cancel a workflow: its cleanup (try/finally) runs at its next await."""
    _stop(ctx, workflow_id, "cancel", reason, namespace, dsn, schema)
    click.echo(f"cancellation requested for workflow '{workflow_id}'")


@workflow.command("terminate")
@click.argument("workflow_id")
@_REASON
@_options
@click.pass_context
def workflow_terminate(
    ctx: click.Context,
    workflow_id: str,
    reason: str | None,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Stop a workflow at once: no cleanup runs."""
    _stop(ctx, workflow_id, "terminate", reason, namespace, dsn, schema)
    click.echo(f"workflow '{workflow_id}' terminated")


@workflow.command("reset")
@click.argument("workflow_id")
@click.option(
    "--to-step",
    type=int,
    metavar="N",
    envvar="HOTMESH_TO_STEP",
    show_envvar=True,
    help="Re-run from recorded step N (1: from the start); steps before it are kept.",
)
@click.option(
    "--to-last-failure",
    is_flag=True,
    envvar="HOTMESH_TO_LAST_FAILURE",
    show_envvar=True,
    help="Re-run from the last failed step.",
)
@_REASON
@_options
@click.pass_context
def workflow_reset(
    ctx: click.Context,
    workflow_id: str,
    to_step: int | None,
    to_last_failure: bool,
    reason: str | None,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Re-run a workflow from a recorded step as a new run (a running one is
    terminated first; the replaced run stays readable as ID:run:RUN)."""
    if (to_step is None) == (not to_last_failure):
        raise click.UsageError("give one of --to-step N or --to-last-failure")

    async def work(client: Client) -> tuple[str, str]:
        handle = await _handle(client, workflow_id)
        old = str((await handle.describe())["run_id"])
        new = await client.reset(workflow_id, to_step, to_last_failure, reason)
        return old, str(new.run_id)

    old, new = _call(ctx, dsn, schema, namespace, work)
    click.echo(
        f"workflow '{workflow_id}' reset: new run {new}; the replaced run is "
        f"kept as '{workflow_id}:run:{old}'"
    )
