"""Worker callbacks: run a user's callback on a worker-stream message and hand
its answer (or its failure, as an error response) to the engine.

A callback is the user's code, and it may misbehave (issue 20 §6). Each topic
runs its synchronous callbacks on its own daemon threads, at most its
``capacity`` alive at once (running, or abandoned and still stuck), so a topic
whose callbacks never return starves only itself. With a topic ``timeout``, an
attempt that runs longer fails (the retry policy applies) and its thread or
task is abandoned and counted. Anything a callback raises, ``SystemExit`` and
``CancelledError`` included, fails that attempt; only the cancellation of our
own handler (``stop``) propagates.

A callback that raises is logged with its job, activity and traceback; one
that returns ``None`` ("I will answer later through ``hm.add``") is logged
once per topic, since it is most often a forgotten ``return``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from hotmesh import errors, ids, telemetry
from hotmesh.engine.options import check_keys
from hotmesh.engine.retry import RETRY_KEYS
from hotmesh.engine.router import retrying
from hotmesh.store.records import Message
from hotmesh.telemetry import logs

log = logs.get("hotmesh.worker")
#: characters of a failed callback's traceback kept in its error (the end of it)
MAX_STACK = 4000
Callback = Callable[[dict[str, Any]], Any]


class CallbackTimeoutError(errors.HotMeshError):
    """A worker callback ran past its topic's ``timeout``."""


@dataclass
class TopicCallbacks:
    """The callbacks of one worker topic: their threads, timeout and counts.

    ``abandoned`` counts attempts given up at their timeout (or at ``stop``);
    ``stuck`` is how many of their threads have still not returned.
    """

    topic: str
    callback: Callback
    capacity: int = 64
    timeout: float | None = None
    abandoned: int = 0
    stuck: int = 0
    #: the app whose worker this is (the measures' ``hotmesh.app``)
    app: str = ""
    #: awaited with the message and the response once the engine has taken
    #: the response (committed, or dropped: a hint, never the truth)
    committed: Callable[[dict[str, Any], Any], Awaitable[None]] | None = None
    _threads: asyncio.Semaphore = field(init=False)
    _is_async: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.timeout is not None and not self.timeout > 0:
            raise errors.ConfigError(
                f"worker '{self.topic}': timeout must be a positive number of "
                f"seconds, not {self.timeout!r}"
            )
        self._threads = asyncio.Semaphore(self.capacity)
        cb = self.callback
        self._is_async = inspect.iscoroutinefunction(cb) or inspect.iscoroutinefunction(
            type(cb).__call__
        )

    def call(self, message: dict[str, Any]) -> Coroutine[Any, Any, Any]:
        """The callback's response; raises what it raised, ``CallbackTimeoutError``
        past the timeout (any ``BaseException`` but our own cancellation is
        re-raised as a ``HotMeshError``-compatible ``Exception``)."""
        if self._is_async:
            if self.timeout is None:
                return self._call_inline(message)
            return self._call_async(message)
        return self._call_thread(message)

    async def _call_inline(self, message: dict[str, Any]) -> Any:
        """An async callback without a timeout, awaited in our own task: no
        task and no ``wait`` per call (issue 21), the same outcomes as
        ``_call_async``. Our own cancellation is told from one the callback
        raises by the task's pending cancellation requests; one the callback
        swallowed still ends the attempt, as abandoned."""
        task = asyncio.current_task()
        try:
            value = await self.callback(message)
        except asyncio.CancelledError:
            if task is not None and task.cancelling():
                self.abandoned += 1
                raise
            raise _Raised("asyncio.CancelledError (raised by the callback)") from None
        except Exception:
            raise
        except BaseException as exc:  # SystemExit, KeyboardInterrupt too
            raise _failure(exc) from None
        if task is not None and task.cancelling():
            self.abandoned += 1
            raise asyncio.CancelledError
        return value

    async def _call_async(self, message: dict[str, Any]) -> Any:
        ours = False

        async def guarded() -> tuple[bool, Any]:
            try:
                return True, await self.callback(message)
            except asyncio.CancelledError:
                if ours:
                    raise
                return False, _Raised("asyncio.CancelledError (raised by the callback)")
            except BaseException as exc:  # SystemExit, KeyboardInterrupt too
                return False, exc

        task = asyncio.get_running_loop().create_task(guarded())
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout)
        except asyncio.CancelledError:  # our own shutdown: give up the callback
            ours = True
            task.cancel()
            self.abandoned += 1
            raise
        if not done:
            # Cancelled, but not awaited: a callback that ignores cancellation
            # must not hold this attempt (or stop()) for ever.
            ours = True
            task.cancel()
            task.add_done_callback(_retrieve)
            self.abandoned += 1
            raise CallbackTimeoutError(
                f"worker '{self.topic}': the callback did not return within its "
                f"timeout of {self.timeout:g} s; abandoned"
            )
        ok, value = task.result()
        if ok:
            return value
        raise _failure(value)

    async def _call_thread(self, message: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout
        try:
            await asyncio.wait_for(self._threads.acquire(), self.timeout)
        except TimeoutError:
            raise CallbackTimeoutError(
                f"worker '{self.topic}': all {self.capacity} of its threads are "
                f"stuck in callbacks that did not return; gave up after "
                f"{self.timeout:g} s (the topic's capacity bounds its threads)"
            ) from None
        fut: asyncio.Future[tuple[bool, Any]] = loop.create_future()
        state = {"abandoned": False}

        def finished(outcome: tuple[bool, Any]) -> None:
            self._threads.release()
            if state["abandoned"]:
                self.stuck -= 1
            if not fut.done():
                fut.set_result(outcome)

        def run() -> None:
            try:
                outcome: tuple[bool, Any] = (True, self.callback(message))
            except BaseException as exc:  # SystemExit must not end the process
                outcome = (False, exc)
            try:
                loop.call_soon_threadsafe(finished, outcome)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        # A daemon thread: one that never returns must not keep the process
        # alive at exit (executor threads are joined at exit).
        threading.Thread(
            target=run, name=f"hotmesh-worker-{self.topic}", daemon=True
        ).start()
        remaining = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            ok, value = await asyncio.wait_for(asyncio.shield(fut), remaining)
        except (TimeoutError, asyncio.CancelledError) as exc:
            state["abandoned"] = True
            self.abandoned += 1
            self.stuck += 1
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise CallbackTimeoutError(
                f"worker '{self.topic}': the callback did not return within its "
                f"timeout of {self.timeout:g} s; its thread is abandoned"
            ) from None
        if ok:
            return value
        raise _failure(value)


class _Raised(Exception):
    """A ``BaseException`` from a callback, as an ordinary failure."""


def _failure(exc: BaseException) -> Exception:
    if isinstance(exc, Exception):
        return exc
    return _Raised(f"{type(exc).__name__}{exc.args!r} raised by the callback")


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def failure(exc: Exception) -> dict[str, Any]:
    """The error response of a callback that raised: its type, message and
    traceback are kept in the activity's and the job's error."""
    stack = "".join(traceback.format_exception(exc))
    return {
        "status": "error",
        "code": 500,
        "data": {
            "message": str(exc) or type(exc).__name__,
            "code": 500,
            "type": type(exc).__name__,
            "stack": stack[-MAX_STACK:],
        },
    }


async def answer_of(
    callbacks: TopicCallbacks,
    message: dict[str, Any],
    attempts: int,
    poison: int,
    span: Any,
) -> Any:
    """The callback's response to ``message``, or the error response of its failure."""
    if attempts > 1:
        where = {"hotmesh.app": callbacks.app, "hotmesh.topic": callbacks.topic}
        telemetry.meters.add("hotmesh.claims.reclaimed", where)
    began = time.monotonic()
    try:
        if attempts > poison:
            telemetry.meters.add(
                "hotmesh.messages.poison",
                {"hotmesh.app": callbacks.app, "hotmesh.topic": callbacks.topic},
            )
            # Claimed again and again without an answer (its callback
            # keeps killing the process): an error, not another try.
            raise errors.HotMeshError(
                f"poison message: claimed {attempts} times without completing"
            )
        response = await callbacks.call(message)
    except Exception as exc:  # the worker's failure becomes an error response
        md = message["metadata"]
        log.warning(
            "worker %s failed on job %s (activity %s)",
            callbacks.topic,
            md.get("jid"),
            md.get("aid"),
            exc_info=exc,
        )
        if span is not None:
            telemetry.worker_failed(
                span, exc, timeout=isinstance(exc, CallbackTimeoutError)
            )
        _took(callbacks, began, "error")
        return failure(exc)
    if span is not None and isinstance(response, dict):
        telemetry.worker_status(span, response)
    failed = isinstance(response, dict) and response.get("status") == "error"
    _took(callbacks, began, "error" if failed else "success")
    return response


def _took(callbacks: TopicCallbacks, began: float, status: str) -> None:
    if telemetry.metering():
        spent = time.monotonic() - began
        # one shared attribute dict per (app, topic, status), not one per call
        key = (
            ("hotmesh.app", callbacks.app),
            ("hotmesh.topic", callbacks.topic),
            ("hotmesh.status", status),
        )
        meters = telemetry.meters
        meters.record("hotmesh.worker.duration", spent, meters.attributes(key))


def callback_handler(
    callbacks: TopicCallbacks,
    done: Callable[[Message, Any], Awaitable[None]],
    poison: int,
    stopped: Callable[[], bool],
    give_up: Callable[[Message, Exception], Awaitable[None]] | None = None,
) -> Callable[[Message], Awaitable[None]]:
    """The consumer's handler for a topic: call its callback and pass the
    response to ``done`` (``Engine.worker_done``)."""
    topic = callbacks.topic
    told: list[bool] = []  # whether a None answer was logged for this topic

    async def handle(msg: Message) -> None:
        md = msg.payload.get("metadata", {})
        # (one coroutine, not two: each level costs every resumption, issue 21)
        with logs.context(callbacks.app, md.get("jid"), md.get("aid"), topic, md):
            # ``claims``: 2+ when the message was taken back from a lapsed claim
            # (its worker died mid-attempt): MemFlow counts that as an attempt
            message = {
                "metadata": md,
                "data": msg.payload.get("data", {}),
                "claims": msg.attempts,
            }
            # The span covers the callback and its answer (a retry is an event of it).
            with telemetry.worker_span(topic, md) as span:
                response = await answer_of(
                    callbacks, message, msg.attempts, poison, span
                )
                # Retried alone on a lost connection, so the callback is not re-run.
                await retrying(
                    lambda: done(msg, response),
                    f"worker {topic}: response to message {msg.id}",
                    stopped,
                    give_up=None if give_up is None else lambda exc: give_up(msg, exc),
                )
            if callbacks.committed is not None:
                try:
                    await callbacks.committed(message, response)
                except Exception:  # the step is written: only the hint is lost
                    log.exception("worker %s: committed hook failed", topic)
            if response is None and not told:
                # Once per topic: a forgotten ``return`` must not pass unseen.
                told.append(True)
                log.warning(
                    "worker %s returned None for job %s (activity %s): the activity "
                    "now waits for an answer through hm.add(); return {'data': ...} "
                    "to answer at once (said once per topic)",
                    topic,
                    md.get("jid"),
                    md.get("aid"),
                )

    return handle


#: the keys of a ``workers`` entry
WORKER_KEYS = (
    "topic",
    "callback",
    "capacity",
    "retry",
    "timeout",
    "committed",
    "inline",
)


def check_worker(worker: Any) -> str:
    """The topic of a ``workers`` entry whose keys and values make sense."""
    if not isinstance(worker, dict):
        raise errors.ConfigError(
            f"a worker is a dict with {', '.join(WORKER_KEYS)}, not "
            f"{type(worker).__name__}"
        )
    topic = ids.check(worker.get("topic"), "worker topic")
    check_keys(worker, WORKER_KEYS, f"worker '{topic}'")
    if not callable(worker.get("callback")):
        raise errors.ConfigError(f"worker '{topic}': callback must be callable")
    committed = worker.get("committed")
    if committed is not None and not inspect.iscoroutinefunction(committed):
        raise errors.ConfigError(
            f"worker '{topic}': committed must be an async function (message, response)"
        )
    if not isinstance(worker.get("inline", False), bool):
        raise errors.ConfigError(
            f"worker '{topic}': inline must be True or False (engine/inline.py), "
            f"not {worker['inline']!r}"
        )
    retry = worker.get("retry")
    if retry is not None:
        if not isinstance(retry, dict):
            raise errors.ConfigError(
                f"worker '{topic}': retry must be a dict such as "
                f"{{'maximum_attempts': 3}}, not {type(retry).__name__}"
            )
        check_keys(retry, RETRY_KEYS, f"worker '{topic}': retry")
    return topic
