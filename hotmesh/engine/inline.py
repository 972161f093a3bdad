"""Inline workers: the next step of a job computed before the step that sends
its work is written, so both are written in one statement.

A worker registered with ``inline: True`` promises that its callback may run
before the message it answers is committed, and may run again: it is a
deterministic function of the message (MemFlow's workflow activation, a
replay whose side effects are activities of their own). When a step computed
from this process's cached state of a job sends exactly one work message, and
that message is for such a worker here, the engine calls the worker at once
and applies its answer as the next step of the same job: one statement writes
both steps, and the work message is never inserted.

Durability is the first step's: nothing is written until both are, so a crash
in between leaves the message the first step answers (an activity's result)
claimed and unacknowledged, and it is run again when its claim lapses, as
after a crash before that step's own commit. The answer goes the consumer's
way: a raise is an error answer, and a failure with a retry left is sent again
after its back-off (written with the first step). An answer ``None`` ("later,
through ``hm.add``"), or an answer whose step cannot be applied, writes the
first step alone, as without the option, and the consumer runs the message.
A trigger is always written alone: its caller would run the worker's code.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hotmesh import errors, telemetry
from hotmesh.compiler import Plan
from hotmesh.engine import step
from hotmesh.engine.effects import SideEffects
from hotmesh.engine.payload import response_step, worker_response
from hotmesh.engine.retry import message_policy, yaml_delay
from hotmesh.engine.workers import TopicCallbacks, answer_of
from hotmesh.store.records import JobRow, NewMessage, worker_stream
from hotmesh.telemetry import logs

log = logs.get("hotmesh.engine")
#: after the write: the inline worker's ``committed`` hook, if it has one
After = Callable[[], Awaitable[None]] | None


#: work-message metadata: the failure of the attempt before this one
LAST_FAILURE = "lastFailure"


def last_failure(code: Any, response: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{code, type?, message?}`` of a failed attempt, its text capped."""
    data = (response or {}).get("data")
    out: dict[str, Any] = {"code": code}
    if isinstance(data, Mapping):
        for key in ("type", "message"):
            if isinstance(data.get(key), str):
                out[key] = data[key][:1000]
    return out


class Inline(SideEffects):
    """Calls an inline worker's callback in the step that sends it work."""

    async def _fuse(
        self, plan: Plan, job: JobRow, commits: list[step.StepCommit]
    ) -> tuple[list[step.StepCommit], After] | None:
        """``commits`` (``job`` is the state after them) with the answer of an
        inline worker to the last one's work message applied as one more step
        (the message left out) or, for a failure with a retry left, that
        message sent again after its back-off; and the worker's after-commit
        hook. ``None`` when there is none to call, or it answered ``None``."""
        last = commits[-1]
        found = self._inline_message(last)
        if found is None:
            return None
        msg, callbacks = found
        md = dict(msg.payload.get("metadata") or {})
        message = {"metadata": md, "data": msg.payload.get("data", {}), "claims": 1}
        hook = callbacks.committed
        with telemetry.worker_span(callbacks.topic, md) as span:
            # as its consumer would: what it raises becomes an error answer
            answer = await answer_of(callbacks, message, 1, self.poison_threshold, span)
            response = worker_response(answer, self.max_data_bytes)
            if response is None:  # "later, through hm.add": the consumer's way
                return None
            after: After = None if hook is None else (lambda: hook(message, answer))
            status, code = response.get("status") or "success", response.get("code")
            if status == "error":
                again = await self._again(
                    msg.payload, md, code, response, msg.priority, msg.ckey, msg.rkey
                )
                if again is not None:  # sent again after its back-off, not run now
                    swapped = [again if m is msg else m for m in last.messages]
                    retried = dataclasses.replace(last, messages=swapped)
                    return [*commits[:-1], retried], after
        payload = response_step(md, response, status, code)
        first = dataclasses.replace(
            last, messages=[m for m in last.messages if m is not msg]
        )
        try:
            answered = step.apply(
                plan, job, "response", payload, self.clock.now(),
                self.max_cycles, self.max_steps, self.topic_keys,
            )  # fmt: skip
        except errors.RETRYABLE:
            raise
        except errors.HotMeshError as exc:
            # the consumer runs it again, and that step fails the job there
            log.info("job %s: inline step not applied (%s)", job.job_id, exc)
            return None
        if answered.dropped is not None:
            return None
        return [*commits[:-1], first, answered], after

    async def _again(
        self,
        payload: dict[str, Any],
        md: dict[str, Any],
        code: Any,
        response: Mapping[str, Any] | None,
        priority: int,
        ckey: str | None,
        rkey: str | None,
    ) -> NewMessage | None:
        """A failed work message again after its back-off; ``None`` when no
        retry is left (the failure is then the activity's answer).

        A structured policy (the worker's, or one carried by the message) wins
        over the activity's YAML ``retry`` map. The message carries this
        attempt's failure (``lastFailure``) for whoever describes the job.
        """
        topic = str(md.get("topic"))
        tries = int(md.get("try") or 0)
        policy = self.retry_policies.get(topic) or message_policy(payload.get("data"))
        if policy is not None:
            delay = policy.delay(tries + 1)
        else:
            plan = await self.plan(str(md.get("vrs")))
            act = plan.activities.get(str(md.get("aid")))
            delay = yaml_delay(act.retry.get(str(code)) if act else None, tries)
        if delay is None:
            return None
        telemetry.meters.add(
            "hotmesh.retries",
            {
                "hotmesh.app": self.app_id,
                "hotmesh.topic": topic,
                "hotmesh.code": str(code),
            },
        )
        telemetry.event(
            "hotmesh.retry",
            {
                "hotmesh.activity.attempt": tries + 2,
                "hotmesh.retry.delay": float(delay),
                "hotmesh.activity.error_code": str(code),
            },
        )
        failed = last_failure(code, response)
        return NewMessage(
            worker_stream(topic),
            "worker",
            {**payload, "metadata": {**md, "try": tries + 1, LAST_FAILURE: failed}},
            str(md.get("jid")),
            priority,
            delay,
            ckey=ckey,
            rkey=rkey,
        )

    def _inline_message(
        self, commit: step.StepCommit
    ) -> tuple[NewMessage, TopicCallbacks] | None:
        """The one work message of ``commit`` for an inline worker here that
        may be handed over now (no delay, no flow limit in its way)."""
        if not self.inline_workers:
            return None
        found: tuple[NewMessage, TopicCallbacks] | None = None
        for m in commit.messages:
            callbacks = self.inline_workers.get(m.stream)
            if callbacks is None:
                continue
            if found is not None:
                return None  # several: each its own way
            found = (m, callbacks)
        if found is None:
            return None
        m = found[0]
        if (
            m.type != "worker"
            or m.delay > 0
            or m.ckey is not None
            or m.rkey is not None
            or m.stream in self.flow_streams
            or self.limited_streams.get(m.stream, 0.0) > time.monotonic()
        ):
            return None
        return found


async def run_after(after: After, job_id: str) -> None:
    """Run an inline worker's after-commit hook; its failure loses a hint only."""
    if after is None:
        return
    try:
        await after()
    except Exception:
        log.exception("job %s: an inline worker's committed hook failed", job_id)


__all__ = ["After", "Inline", "run_after"]
