"""Parent/child messaging: an ``await`` activity starts its child job; a child
that cannot start answers its parent with an error."""

from __future__ import annotations

from typing import Any

from hotmesh import errors, telemetry
from hotmesh.engine import step
from hotmesh.engine.commit import Written
from hotmesh.engine.effects import SideEffects
from hotmesh.engine.metadata import ParentRef
from hotmesh.engine.ports import Transaction
from hotmesh.graph.inputs import input_problem
from hotmesh.store.records import ENGINE_STREAM, Message, NewMessage
from hotmesh.telemetry import logs

log = logs.get("hotmesh.engine")


class Children(SideEffects):
    """Starts child jobs and answers their parents."""

    async def _start_child(self, msg: Message) -> None:
        """Run an ``await`` activity's child trigger; a child that cannot start
        answers its parent with an error instead of leaving it waiting.

        A traced child has a job span of its own, a child of its parent's job
        span, ended when this process hears of the child's completion."""
        payload = msg.payload
        parent = dict(payload.get("parent") or {})
        commit: step.StepCommit | None = None
        written: Written | None = None
        span: telemetry.JobSpan | None = None
        try:
            async with self.store.transaction() as tx:
                if not await tx.ack(msg.id, self.owner):
                    return
                plan = await self.plan(str(payload.get("vrs")), tx)
                topic = str(payload.get("topic"))
                graph = plan.graph_for_topic(topic)
                data = payload.get("data") or {}
                span = telemetry.JobSpan(self.app_id, topic, self.owner, data, parent)
                failure: tuple[int, str] | None = None
                if graph is None:
                    failure = (404, f"no graph subscribed to '{topic}'")
                elif graph.input_schema and (
                    problem := input_problem(graph.input_schema, data)
                ):
                    failure = (422, str(errors.InputValidationError(topic, *problem)))
                else:
                    try:
                        commit = step.trigger(
                            plan,
                            graph,
                            data,
                            self.clock.now(),
                            parent={**parent, **(span.metadata or {})},
                            max_cycles=self.max_cycles,
                            max_steps=self.max_steps,
                            topic_keys=self.topic_keys,
                        )
                    except errors.HotMeshError as exc:
                        failure = (500, f"child '{topic}' could not start: {exc}")
                if failure is not None or commit is None:
                    code, message = failure or (500, "child could not start")
                    span.abandon(message)
                    await self._answer_parent(tx, parent, code, message)
                else:
                    try:
                        async with tx.savepoint():
                            written = await self._write(tx, commit)
                    except errors.DuplicateJobError:
                        span.abandon("replayed await: the child exists already")
                        return
                    span.opened(commit.job.job_id)  # before a completion is heard
        except BaseException:
            if span is not None:
                span.abandon("child not started: its transaction failed")
            raise
        if written is None:  # after the commit: the parent's answer is visible
            self.events.wake(ENGINE_STREAM, 0.0)
            return
        self._woken(written)

    async def _answer_parent(
        self, tx: Transaction, parent: dict[str, Any], code: int, message: str
    ) -> None:
        """An error result for the parent's await activity (the child never started)."""
        md = ParentRef.from_metadata(parent).address.to_metadata()
        error = {"message": message, "code": code}
        result = NewMessage(
            ENGINE_STREAM,
            "result",
            {"metadata": md, "status": "error", "code": code, "data": error},
            str(parent.get("pj")),
            step.PRIORITY["result"],
        )
        await self._enqueue(tx, [result])
        log.error("job %s: %s", parent.get("pj"), message)
