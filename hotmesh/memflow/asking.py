"""Answers from a replayed workflow: a query's value, an update's validation
(``handle.query`` and ``start_update`` replay the workflow in the caller's
process, then ask its handlers here; nothing is recorded)."""

from __future__ import annotations

import inspect
from typing import Any

from hotmesh import errors
from hotmesh.memflow.context import WorkflowContext, bind
from hotmesh.memflow.handlers import of
from hotmesh.memflow.interceptors import handler
from hotmesh.memflow.signatures import decode_args


async def ask(ctx: WorkflowContext, name: str, args: list[Any]) -> Any:
    """Answer a query from the replayed state (``UnknownHandlerError`` names
    the query handlers the workflow has)."""
    reg = of(ctx)
    fn = reg.queries.get(name)
    if fn is None:
        raise errors.UnknownHandlerError(
            ctx.workflow_id, "query", name, list(reg.queries)
        )
    args = decode_args(ctx.converter, fn, args, f"query '{name}'")
    try:
        value = bind(ctx).run(handler(ctx, "query", name, fn), *args)
        if inspect.isawaitable(value):
            value = await value
    except Exception as exc:
        raise errors.QueryFailedError(
            f"query '{name}' of workflow '{ctx.workflow_id}' raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return ctx.converter.to_json(value, f"query '{name}' result")


def validate(ctx: WorkflowContext, name: str, args: list[Any]) -> None:
    """Check an update before it is sent: the handler exists and its
    validator (on the replayed state) accepts the arguments."""
    reg = of(ctx)
    entry = reg.updates.get(name)
    if entry is None:
        raise errors.UnknownHandlerError(
            ctx.workflow_id, "update", name, list(reg.updates)
        )
    args = decode_args(ctx.converter, entry[0], args, f"update '{name}'")
    validator = entry[1]
    if validator is not None:
        try:
            bind(ctx).run(validator, *args)
        except Exception as exc:
            raise errors.UpdateRejectedError(
                ctx.workflow_id, name, f"{type(exc).__name__}: {exc}"
            ) from exc
