"""``parent_close_policy``: what happens to a child workflow still running when
its parent ends (returns, fails, is cancelled, terminated, timed out or reset).

``terminate`` ends the child at once; ``request_cancel`` asks it to cancel
(its cleanup runs); ``abandon`` (the default, as upstream's detached
children) leaves it running. The policy rides in the child's job data
(``parentClosePolicy``), so any process that ends the parent can apply it:
the worker before it answers the parent's last activation, and the client,
timer or reset that interrupts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh import errors
from hotmesh.memflow.runner import DONE, FAILED
from hotmesh.mesh import HotMesh

POLICIES = ("terminate", "request_cancel", "abandon")
#: job data key of a child's policy
POLICY_KEY = "parentClosePolicy"
#: open jobs walked at most per closing parent (children and gather jobs)
MAX_JOBS = 1000


def check(value: Any) -> str | None:
    """The policy, or None for the default; ``ConfigError`` naming the choices."""
    if value is None:
        return None
    text = getattr(value, "value", value)  # an enum member works too
    if isinstance(text, str):
        text = text.lower()
    if text not in POLICIES:
        raise errors.ConfigError(
            f"child workflow: parent_close_policy {value!r} is not one of "
            f"{', '.join(POLICIES)}"
        )
    return str(text)


def of(options: Mapping[str, Any]) -> str | None:
    """The policy a child's options give (``parent_close_policy`` or its camelCase)."""
    return check(options.get("parent_close_policy", options.get("parentClosePolicy")))


def fields(policy: str | None) -> dict[str, str]:
    """The child's start fields for ``policy`` (none for the default)."""
    return {POLICY_KEY: policy} if policy else {}


async def _open_children(
    hm: HotMesh, namespace: str, parent_id: str, graph: str = "execute"
) -> list[str]:
    """Running child jobs of ``parent_id`` on the ``<namespace>.<graph>``
    topic (child workflows; ``wait.execute``: signal waits), those under an
    ``asyncio.gather``'s job (its collator) included."""
    found: list[str] = []
    todo, seen = [parent_id], 0
    while todo and seen < MAX_JOBS:
        job_id = todo.pop()
        for kid in await hm.store.child_jobs(namespace, job_id):
            seen += 1
            if kid["status"] <= 0:
                continue
            if kid["topic"] == f"{namespace}.collator.execute":
                todo.append(str(kid["job_id"]))
            elif kid["topic"] == f"{namespace}.{graph}":
                found.append(str(kid["job_id"]))
    return found


async def end_waits(hm: HotMesh, namespace: str, parent_id: str) -> int:
    """End the open signal waits of the ended workflow ``parent_id`` (those of
    an ``asyncio.gather``'s job included); returns how many were ended.

    A wait's hook listens on a key named after the workflow id
    (``<id>:$inbox``, ``<id>:<signal>``), not after its run: left open, a
    replaced run's wait would take the signals and wake-ups meant for the
    run a reset starts under the same id, and hand them to a run that has
    ended. An ended wait's hook no longer takes anything.
    """
    ended = 0
    why = f"its workflow '{parent_id}' closed"
    for wait_id in await _open_children(hm, namespace, parent_id, "wait.execute"):
        if await hm.interrupt(
            f"{namespace}.wait.execute", wait_id, reason=why, throw=False, suppress=True
        ):
            ended += 1
    return ended


async def close_children(hm: HotMesh, namespace: str, parent_id: str) -> int:
    """Apply each running child's policy now that ``parent_id`` has ended (or
    is about to); returns how many were terminated or asked to cancel."""
    # updates reaches workflow.py, which imports this module: import it late
    from hotmesh.memflow.updates import request_cancel

    done = 0
    for child_id in await _open_children(hm, namespace, parent_id):
        job = await hm.engine.read(child_id)
        if job is None or job.status <= 0:
            continue
        policy = job.data.get(POLICY_KEY) or "abandon"
        reason = f"its parent workflow '{parent_id}' closed"
        if policy == "terminate":
            await hm.interrupt(
                f"{namespace}.execute", child_id, reason=reason, suppress=True
            )
            done += 1
        elif policy == "request_cancel":
            try:
                await request_cancel(hm, namespace, child_id, reason)
                done += 1
            except errors.JobInactiveError:
                pass  # it ended meanwhile
    return done


def closes(message: dict[str, Any], answer: dict[str, Any]) -> bool:
    """This answer ends a workflow that started children (their
    ``parent_close_policy`` applies): done, or failed with no retry left."""
    data = message.get("data") or {}
    state = data.get("state") or {}
    if data.get("hookId") or not any(k.startswith(("-start", "-child")) for k in state):
        return False
    if answer.get("code") == DONE:
        return True
    if answer.get("code") != FAILED:
        return False
    attempts = data.get("maximumAttempts")
    tries = int((message.get("metadata") or {}).get("try") or 0) + 1
    return not attempts or tries >= int(attempts)
