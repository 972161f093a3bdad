"""The public API's types, as a user's type checker sees them (mypy --strict).

``async with HotMesh.init(...)`` gives a ``HotMesh``; a handle started from a
workflow function is typed by its return type; ``proxy_activities(obj)`` is
typed as ``obj``, so ``await acts.charge(5)`` has ``charge``'s return type.
"""

from __future__ import annotations

from pathlib import Path

from mypy import api

SNIPPET = """
from typing import Any, assert_type

from hotmesh import HotMesh, MemFlow
from hotmesh.memflow.client import WorkflowHandle


class Acts:
    async def charge(self, amount: int) -> str:
        return str(amount)


async def flow(n: int) -> int:
    acts = MemFlow.workflow.proxy_activities(Acts(), task_queue="q")
    assert_type(await acts.charge(5), str)
    loose = MemFlow.workflow.proxy_activities({"charge": Acts().charge})
    assert_type(loose, Any)
    return n


async def main() -> None:
    async with HotMesh.init("app", dsn="postgresql://x/db") as hm:
        assert_type(hm, HotMesh)
    async with MemFlow.Client({"connection": {"dsn": "x"}}) as client:
        handle = await client.workflow.start([1], "q", workflow_name=flow)
        assert_type(handle, WorkflowHandle[int])
        assert_type(await handle.result(), int)
        other = await client.workflow.start([1], "q", workflow_name="flow")
        assert_type(await other.result(), Any)
    async with MemFlow.Worker.create({"task_queue": "q", "workflow": flow}) as w:
        await w.stop()
"""


def test_the_public_api_types_check_as_documented(tmp_path: Path) -> None:
    module = tmp_path / "user_code.py"
    module.write_text(SNIPPET)
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--no-error-summary", str(module)]
    )
    assert status == 0, out + err
