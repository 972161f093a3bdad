"""MemFlow's Python-first surface: context managers, typed results, checked options."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import MemFlow, errors


class Greeter:
    """Activities on an object: the proxy is typed as the object."""

    async def greet(self, name: str) -> str:
        return f"hello {name}"


async def greeting(name: str) -> str:
    acts = MemFlow.workflow.proxy_activities(Greeter(), task_queue="greet")
    text = await acts.greet(name)  # typed: str
    return text.upper()


async def bad_child(name: str) -> str:
    await MemFlow.workflow.exec_child(greeting, args=[name], workflow_idd="x")
    return "unreachable"


async def test_client_and_worker_are_async_context_managers(pg_dsn: str) -> None:
    conn = {"connection": {"dsn": pg_dsn}}
    async with (
        MemFlow.Worker.create(
            {**conn, "task_queue": "greet", "workflow": greeting}
        ) as worker,
        MemFlow.Client(conn) as client,
    ):
        handle = await client.workflow.start(
            ["ada"], "greet", workflow_name=greeting, workflow_id="g-1"
        )
        result: str = await asyncio.wait_for(handle.result(), 20)
        assert result == "HELLO ADA"
    assert worker.connection.mesh._stopped  # the last user closed the mesh


async def test_misspelt_start_keyword_is_refused_and_nothing_starts(
    pg_dsn: str,
) -> None:
    async with MemFlow.Client({"connection": {"dsn": pg_dsn}}) as client:
        with pytest.raises(errors.ConfigError) as caught:
            await client.workflow.start(
                ["ada"], "greet", workflow_name="greeting", workflow_idd="g-2"
            )
        assert str(caught.value) == (
            "workflow.start: unknown option 'workflow_idd' (did you mean 'workflow_id'?)"
        )
        hm = await client.mesh()
        assert await hm.engine.read("g-2", include_expired=True) is None


def test_misspelt_client_config_is_refused() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        MemFlow.Client({"conection": {"dsn": "postgresql://x/db"}})
    assert str(caught.value) == (
        "Client: unknown option 'conection' (did you mean 'connection'?)"
    )
    with pytest.raises(errors.ConfigError) as caught:
        MemFlow.Client({"connection": {"dns": "postgresql://x/db"}})
    assert str(caught.value) == (
        "Client: connection: unknown option 'dns' (did you mean 'dsn'?)"
    )


async def test_misspelt_worker_config_is_refused(pg_dsn: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        await MemFlow.Worker.create(
            {"connection": {"dsn": pg_dsn}, "task_queu": "q", "workflow": greeting}
        )
    assert str(caught.value) == (
        "Worker.create: unknown option 'task_queu' (did you mean 'task_queue'?)"
    )
    with pytest.raises(errors.ConfigError) as caught:
        await MemFlow.register_activity_worker(
            {"connection": {"dsn": pg_dsn}, "options": {"capacty": 2}}, Greeter(), "q"
        )
    assert str(caught.value) == (
        "register_activity_worker: options: unknown option 'capacty' "
        "(did you mean 'capacity'?)"
    )


async def test_misspelt_child_option_fails_the_workflow_naming_it(
    pg_dsn: str,
) -> None:
    conn: dict[str, Any] = {"connection": {"dsn": pg_dsn}}
    async with (
        MemFlow.Worker.create({**conn, "task_queue": "greet", "workflow": bad_child}),
        MemFlow.Client(conn) as client,
    ):
        handle = await client.workflow.start(
            ["ada"], "greet", workflow_name=bad_child, workflow_id="bad-1"
        )
        with pytest.raises(errors.WorkflowFailedError) as caught:
            await asyncio.wait_for(handle.result(), 20)
        assert caught.value.error_type == "ConfigError"
        assert str(caught.value) == (
            "workflow 'bad-1' failed: ConfigError: child workflow: unknown option "
            "'workflow_idd' (did you mean 'workflow_id'?)"
        )


async def test_misspelt_retry_policy_key_is_refused(pg_dsn: str) -> None:
    async with MemFlow.Client({"connection": {"dsn": pg_dsn}}) as client:
        with pytest.raises(errors.ConfigError) as caught:
            await client.workflow.start(
                ["ada"],
                "greet",
                workflow_name="greeting",
                retry_policy={"maximum_attempt": 2},
            )
    assert str(caught.value) == (
        "retry_policy: unknown option 'maximum_attempt' "
        "(did you mean 'maximum_attempts'?)"
    )
