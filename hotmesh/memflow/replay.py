"""Workflow histories and the replayer: check new code against recorded runs.

``await handle.fetch_history()`` (or ``hotmesh workflow history ID --json``)
gives a workflow's history as JSON: its recorded results (the job data's
markers), each generation's arguments, and every step the workflow asked
for, with its arguments (read from the activations' answers). ``await
Replayer(workflows=[...]).replay(history)`` runs the current code over it as
a new activation would (nothing is run, nothing recorded) and raises
``NondeterminismError`` naming the first step where the code now asks for
something else: another activity (or order), other arguments, another sleep,
a step the history does not have, or an end where the history went on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotmesh import errors
from hotmesh.engine.options import check_keys
from hotmesh.memflow import runner
from hotmesh.memflow.classes import workflow_function
from hotmesh.memflow.config import converter_of
from hotmesh.memflow.context import ContinueAsNew, replay_map
from hotmesh.memflow.converter import DataConverter
from hotmesh.memflow.manage import outcome
from hotmesh.store.records import JobRow

if TYPE_CHECKING:
    from hotmesh.memflow.client import WorkflowHandle

#: the history format's name and version (a key of every history)
FORMAT = "hotmesh.memflow.history"
VERSION = 1


# -- recording -----------------------------------------------------------------
def _data(value: Any) -> dict[str, Any]:
    """An activity row's input/output: its ``data`` part."""
    if not isinstance(value, Mapping):
        return {}
    inner = value.get("data", value)
    return dict(inner) if isinstance(inner, Mapping) else {}


def _listed(value: Any) -> Any:
    """Arguments as a list; a payload stored by a codec (an envelope) as it
    is: ``fetch_history`` decodes it with the client's codec."""
    return dict(value) if isinstance(value, Mapping) else list(value or [])


def _step(generation: int, item: Mapping[str, Any]) -> dict[str, Any] | None:
    """One thing an activation asked for, as the history keeps it."""
    index = int(item.get("index") or 0)
    kind = item.get("kind")
    if index <= 0 or not isinstance(kind, str):
        return None  # an idle wait (handlers) is no step of the code
    step: dict[str, Any] = {"generation": generation, "index": index, "kind": kind}
    shape = item.get("type")
    if shape == "proxy":
        given = item.get("input") or {}
        step.update(name=given.get("name"), args=_listed(given.get("args")))
    elif shape == "sleep":
        step["duration"] = item.get("duration")
    elif shape == "wait":
        step["key"] = (item.get("wait") or {}).get("key")
    elif shape == "child":
        child = item.get("child") or {}
        step.update(
            name=child.get("workflowName"), args=_listed(child.get("arguments"))
        )
    return step


def history_of(namespace: str, job: JobRow) -> dict[str, Any]:
    """The history of workflow ``job`` (read with its activity rows)."""
    generations: dict[int, dict[str, Any]] = {}
    steps: dict[tuple[int, int], dict[str, Any]] = {}
    for row in job.activities:
        if row.activity_id != "worker":
            continue
        asked, answer = _data(row.input), _data(row.output)
        if asked.get("hookId"):
            continue  # a hook function's activation, not the workflow's
        gen = int(asked.get("generation") or 0)
        entry = generations.setdefault(
            gen, {"generation": gen, "arguments": _listed(asked.get("arguments"))}
        )
        if answer.get("done") is True:
            entry["ended"] = "completed"
        elif "continueArgs" in answer:
            entry["ended"] = "continued"
        elif answer.get("error") is not None or row.error is not None:
            entry["ended"] = "failed"
        items = answer.get("items") if "items" in answer else [answer]
        for item in items or []:
            step = _step(gen, item) if isinstance(item, Mapping) else None
            if step is not None:
                steps[(gen, step["index"])] = step
    data = job.data
    return {
        "format": FORMAT,
        "version": VERSION,
        "namespace": namespace,
        "workflow_id": job.job_id,
        "workflow_name": data.get("workflowName"),
        "task_queue": data.get("taskQueue"),
        "status": outcome(job),
        "generations": [generations[g] for g in sorted(generations)],
        "steps": [steps[k] for k in sorted(steps)],
        "state": data,
    }


async def recorded_history(handle: WorkflowHandle[Any]) -> dict[str, Any]:
    """``handle.fetch_history()``: the workflow's history (JSON-ready)."""
    hm = await handle.client.mesh()
    job = await hm.engine.read(
        handle.workflow_id, include_expired=True, with_activities=True
    )
    if job is None:
        raise errors.JobNotFoundError(handle.workflow_id)
    return history_of(handle.client.namespace, job)


# -- replaying -----------------------------------------------------------------
@dataclass(frozen=True)
class Replayed:
    """What a clean replay checked."""

    workflow_id: str
    workflow_name: str
    #: recorded steps the code asked for again, identically
    steps: int
    #: generations replayed (one, unless the workflow continued as new)
    generations: int


def load(history: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """A history from a dict, JSON text or a file (``ConfigError`` if it is none)."""
    if isinstance(history, os.PathLike):
        history = Path(history).read_text(encoding="utf-8")
    if isinstance(history, str):
        try:
            history = json.loads(history)
        except ValueError as exc:
            raise errors.ConfigError(f"the history is not JSON: {exc}") from None
    if not isinstance(history, Mapping) or history.get("format") != FORMAT:
        raise errors.ConfigError(
            "not a MemFlow history: expected the JSON of handle.fetch_history() "
            "or `hotmesh workflow history ID --json`"
        )
    if int(history.get("version") or 0) > VERSION:
        raise errors.ConfigError(
            f"history version {history.get('version')} is newer than this "
            f"hotmesh reads ({VERSION})"
        )
    return dict(history)


class Replayer:
    """Replays recorded histories against the current workflow code.

    ``await Replayer(workflows=[order_flow]).replay(history)`` returns a
    ``Replayed`` when the code asks for what the history recorded, step by
    step; else raises ``NondeterminismError`` naming the step. ``workflows``
    may also map workflow names to functions (``{"order": new_order}``);
    ``data_converter=`` is the workers' (when they have their own).
    """

    def __init__(
        self, workflows: Iterable[Any] | Mapping[str, Any], **options: Any
    ) -> None:
        check_keys(options, ("namespace", "data_converter"), "Replayer")
        self.namespace: str | None = options.get("namespace")
        #: the workers' ``data_converter`` (arguments are decoded with it)
        self.converter = converter_of(options)
        named = (
            list(workflows.items())
            if isinstance(workflows, Mapping)
            else [(None, w) for w in workflows]
        )
        self.workflows: dict[str, Any] = {}
        for name, workflow in named:
            fn = workflow_function(workflow)
            if not callable(fn):
                raise errors.ConfigError(f"Replayer: {workflow!r} is not a workflow")
            self.workflows[str(name or fn.__name__)] = fn

    async def replay(
        self, history: Mapping[str, Any] | str | os.PathLike[str]
    ) -> Replayed:
        """Replay one history (a dict, JSON text or a file path)."""
        recorded = load(history)
        name = str(recorded.get("workflow_name"))
        fn = self.workflows.get(name)
        if fn is None:
            check_keys({name: 1}, tuple(self.workflows), "Replayer: workflows")
            raise errors.ConfigError(f"Replayer: no workflow '{name}' was given")
        namespace = self.namespace or str(recorded.get("namespace") or "memflow")
        state = dict(recorded.get("state") or {})
        generations = list(recorded.get("generations") or [])
        last = max((int(g["generation"]) for g in generations), default=0)
        running = recorded.get("status") == "running"
        checked = 0
        for gen in generations:
            number = int(gen["generation"])
            expected = {
                int(s["index"]): dict(s)
                for s in recorded.get("steps") or []
                if int(s.get("generation") or 0) == number
            }
            # the last generation of a running workflow may have results the
            # next activation has not seen yet: its new steps are not judged
            complete = not (running and number == last)
            checked += await _replay_generation(
                namespace, recorded, state, fn, gen, expected, complete, self.converter
            )
        return Replayed(
            str(recorded.get("workflow_id")), name, checked, len(generations)
        )


async def _replay_generation(
    namespace: str,
    recorded: Mapping[str, Any],
    state: dict[str, Any],
    fn: Any,
    gen: Mapping[str, Any],
    expected: dict[int, dict[str, Any]],
    complete: bool,
    converter: DataConverter,
) -> int:
    number = int(gen["generation"])
    fields = {
        "workflowId": recorded.get("workflow_id"),
        "workflowName": recorded.get("workflow_name"),
        "taskQueue": recorded.get("task_queue"),
        "parentWorkflowId": state.get("parentWorkflowId"),
        "generation": number,
        "state": state,
    }
    ctx, ended, exc = await runner.replay(
        namespace, fields, fn, list(gen.get("arguments") or []), expected, converter
    )
    if ctx.diverged is not None:
        raise ctx.diverged
    if isinstance(exc, errors.NondeterminismError):
        raise exc
    markers = replay_map(state, number)
    if complete:
        for item in sorted(ctx.interruptions, key=lambda i: int(i["index"])):
            index = int(item["index"])
            if index > 0 and index not in expected and index not in markers:
                label = _label(item)
                raise ctx.diverge(
                    index,
                    f"the history has no step {index}, but the code now calls {label}",
                )
    if ended and complete:
        later = sorted(i for i in {*expected, *markers} if i > ctx.counter)
        if later:
            index = later[0]
            what = _recorded(expected.get(index), markers.get(index))
            end = "raises" if exc is not None else "returns"
            raise ctx.diverge(
                index, f"the history recorded {what}, but the code now {end} first"
            )
        if (
            exc is not None
            and not isinstance(exc, ContinueAsNew)
            and gen.get("ended") == "completed"
        ):
            raise ctx.diverge(
                ctx.counter,
                "the history completed, but the code now raises "
                f"{type(exc).__name__}: {exc}",
            )
    return sum(1 for i in expected if i <= ctx.counter)


def _label(item: Mapping[str, Any]) -> str:
    kind = str(item.get("kind"))
    name = (item.get("input") or {}).get("name") or (item.get("child") or {}).get(
        "workflowName"
    )
    return f"{kind} '{name}'" if name else kind


def _recorded(step: Mapping[str, Any] | None, marker: Any) -> str:
    if step is not None:
        name = step.get("name")
        return f"{step['kind']} '{name}'" if name else str(step["kind"])
    kind, value = marker
    name = value.get("name") if isinstance(value, Mapping) else None
    return f"{kind} '{name}'" if name else str(kind)
