"""MemFlow at the edge: an activity or workflow value jsonb cannot store fails
visibly (a typed failure in the workflow), never loops or hangs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env, mf

__all__ = ["mf"]

wf = MemFlow.workflow


async def unstorable(kind: str) -> Any:
    return {"nul": "a\x00b", "surrogate": "\ud800", "object": object()}[kind]


async def calls_unstorable(kind: str) -> Any:
    acts = wf.proxy_activities(
        activities={"unstorable": unstorable}, retry_policy={"maximum_attempts": 2}
    )
    try:
        return await acts.unstorable(kind)
    except errors.ActivityFailedError as exc:
        return {"failed": exc.error_type, "message": str(exc)}


async def echo(value: str) -> str:
    return value


@pytest.mark.parametrize("kind", ["nul", "surrogate", "object"])
async def test_an_unstorable_activity_result_is_an_activity_failure(
    mf: Env, kind: str
) -> None:
    """Regression: a NUL in an activity's result became an error 500 that the
    MemFlow graph answered by running the activity again, until ``max_cycles``."""
    await mf.worker("unstorable", calls_unstorable)
    handle = await mf.client.workflow.start(
        args=[kind], task_queue="unstorable", workflow_name="calls_unstorable"
    )
    out = await asyncio.wait_for(handle.result(), 15)
    # a set is JSON now (a list, the data converter); an object is not
    failed = {"object": "DataConversionError"}.get(kind, "TypeError")
    assert out["failed"] == failed, out
    reason = {
        "nul": "NUL characters",
        "surrogate": "lone surrogate",
        "object": "type object cannot be converted to JSON",
    }
    assert reason[kind] in out["message"], out


async def test_an_unstorable_workflow_argument_is_refused_at_start(mf: Env) -> None:
    await mf.worker("unstorable", echo)
    with pytest.raises(errors.InputValidationError, match="NUL"):
        await mf.client.workflow.start(
            args=["a\x00b"], task_queue="unstorable", workflow_name="echo"
        )
