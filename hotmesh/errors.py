"""The whole hotmesh exception tree.

Every error says *where*: a manifest error names file:line:col and a JSON
pointer, an expression error names the column (with a caret line), and a
store error names the job, app or database concerned. Driver errors are
wrapped with ``raise ... from exc``.

::

    HotMeshError
    ├── ManifestError ──── one or more Problems, each with file, line, col, pointer
    │   ├── ManifestLoadError        YAML syntax, unreadable file, bad $ref
    │   └── ManifestValidationError  JSON Schema and semantic checks (all at once)
    ├── ExpressionError
    │   ├── ExpressionSyntaxError    a mapping expression that does not parse
    │   ├── UnknownFunctionError     {@ns.fn} not in the catalogue
    │   └── EvaluationError          a function failed at run time
    ├── CompileError                 a plan that cannot be built or decoded
    ├── ConfigError                  bad settings, or the embedded database unavailable
    │   └── FilterError              a console query parameter that cannot be read
    ├── StoreError
    │   ├── StoreUnavailableError    the database cannot be reached (retried by consumers)
    │   ├── DuplicateJobError        a live job already has this id
    │   ├── JobNotFoundError         no live job with this id
    │   ├── ScheduleNotFoundError    no schedule with this id
    │   ├── JobInactiveError         the job exists but no longer runs
    │   ├── SignalNotKeptError       no hook waits on the signal, and it was not kept
    │   ├── UnknownAppVersionError   the app/version was never deployed
    │   ├── StoreConflictError       a write conflicts with what is stored
    │   │   ├── TransactionConflictError  a deadlock or serialization failure (retried)
    │   │   └── StaleStateError      a step's cached job state was stale (the engine re-reads)
    │   └── InvalidDataError         a value the database cannot store (a NUL character)
    ├── InputValidationError         a job input that breaks the graph's input schema
    ├── TriggerError                 an expression failed while a job started: no job
    ├── JobError                     a job finished with an error (pubsub, results)
    ├── TimeoutError                 a wait ran out of time (also builtins.TimeoutError)
    │   ├── ActivityTimeoutError     an activity ran out of a timeout (.timeout_type says which)
    │   └── JobTimeoutError          pubsub gave up waiting (code 504); the job runs on
    ├── UnknownTopicError            no graph subscribes to the topic (no hook listens)
    ├── DataConversionError          a MemFlow value not convertible to/from JSON (also a TypeError)
    ├── PayloadCodecError            an encoded payload without its codec, or a codec failure
    ├── ActionRefusedError           the console refused an action (CSRF, read-only)
    ├── NotFoundError                the console has no such page (app, job, escalation)
    └── WorkflowError
        ├── NondeterminismError      replay diverged from the recorded history
        ├── DuplicateWorkflowError   a live workflow already has this id (also a DuplicateJobError)
        ├── ActivityFailedError      an activity failed after its retries
        ├── ActivityTokenError       complete/fail_activity: not a task token, or a stale one
        ├── ActivityCancelledError   heartbeat_activity: the activity's workflow was cancelled or ended
        ├── UnknownHandlerError      no handler of that name; the message lists the known ones
        ├── UpdateRejectedError      an update's validator refused it; nothing was applied
        ├── UpdateFailedError        an update's handler raised, or the workflow ended first
        ├── QueryFailedError         a query handler raised, or the replay for it failed
        ├── ConditionTimeoutError    wait_condition ran out (also a TimeoutError)
        └── WorkflowFailedError      a workflow raised; carries the remote type/message
            ├── WorkflowCancelledError   cancelled (handle.cancel()), cleanup ran
            ├── WorkflowTerminatedError  terminated: stopped at once, no cleanup
            └── WorkflowTimedOutError    ran past its execution_timeout or run_timeout

``Problem`` (not an exception) is one located problem of a ``ManifestError``.
``RETRYABLE`` names the errors after which a one-transaction step may run
again; the store maps driver errors to them in ``hotmesh.store.faults``.
"""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


class HotMeshError(Exception):
    """Base class of every error hotmesh raises on purpose."""


# --------------------------------------------------------------------------
# Manifests


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a manifest, with its location.

    ``line`` and ``col`` are 1-based; 0 means unknown. ``pointer`` is a JSON
    pointer into the *dereferenced* manifest (``/app/graphs/0/activities/t1``).
    """

    file: str
    line: int
    col: int
    pointer: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        tail = f" (at {self.pointer})" if self.pointer else ""
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {label}{self.message}{tail}"


class ManifestError(HotMeshError):
    """A manifest could not be loaded, validated or compiled."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.problems:
            return "invalid manifest"
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems in manifest:"]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)

    @property
    def first(self) -> Problem:
        """The first problem (there is always at least one)."""
        return self.problems[0]


class ManifestLoadError(ManifestError):
    """The YAML is malformed, a file is missing, or a ``$ref`` is bad."""


class ManifestValidationError(ManifestError):
    """The manifest breaks the schema or a semantic rule."""


# --------------------------------------------------------------------------
# Expressions


class ExpressionError(HotMeshError):
    """A mapping expression is invalid or failed.

    ``path`` locates the failing string inside a structured rule (an ``@pipe``
    row and cell, or a map-block key), relative to the value that was compiled;
    the compiler turns it into a JSON pointer and a file:line:col.
    """

    path: tuple[str | int, ...] = ()


class ExpressionSyntaxError(ExpressionError):
    """An expression does not parse; ``column`` is 1-based."""

    def __init__(self, text: str, column: int, reason: str) -> None:
        self.text = text
        self.column = column
        self.reason = reason
        caret = " " * (column - 1) + "^"
        super().__init__(f"{reason} at column {column}\n  {text}\n  {caret}")


class UnknownFunctionError(ExpressionError):
    """A ``{@namespace.function}`` that is not in the catalogue."""

    def __init__(self, name: str, column: int = 0, hint: str = "") -> None:
        self.name = name
        self.column = column
        msg = f"unknown function '@{name}'"
        if hint:
            msg += f" (did you mean '@{hint}'?)"
        super().__init__(msg)


class EvaluationError(ExpressionError):
    """A function raised while an expression was evaluated."""


# --------------------------------------------------------------------------
# Compiling


class CompileError(HotMeshError):
    """A plan could not be built, or a stored plan document is unreadable."""


# --------------------------------------------------------------------------
# Configuration


class ConfigError(HotMeshError):
    """A setting is invalid, or the database to use cannot be provided."""


# --------------------------------------------------------------------------
# Store


class FilterError(ConfigError):
    """A console query parameter that cannot be read (``hotmesh dashboard``):
    ``param`` names it, the message says what is wrong and what would do."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"query parameter '{param}': {message}")
        self.param = param


class ActionRefusedError(HotMeshError):
    """The console refused an action (a missing or stale CSRF token)."""


class NotFoundError(HotMeshError):
    """The console has no such page: an app, escalation or action it does not know."""


class StoreError(HotMeshError):
    """A persistence operation failed."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached (the DSN's password is masked)."""


class DuplicateJobError(StoreError):
    """A live job with this id already exists."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"a live job with id '{job_id}' already exists")


class JobNotFoundError(StoreError):
    """No live job has this id."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"job '{job_id}' not found")


class ScheduleNotFoundError(StoreError):
    """No schedule of this app has this id."""

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id
        super().__init__(f"schedule '{schedule_id}' not found")


class JobInactiveError(StoreError):
    """The job exists but is no longer running (complete or interrupted)."""

    def __init__(self, job_id: str, detail: str | None = None) -> None:
        self.job_id = job_id
        message = f"job '{job_id}' already completed"
        super().__init__(message if detail is None else f"{message}: {detail}")


class SignalNotKeptError(StoreError):
    """No hook waits on a signal's key, and the signal was not kept for later:
    no running job is known to want it (``keep=True`` keeps it for a job that
    has not started yet), or the key already keeps as many signals as allowed."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


class UnknownAppVersionError(StoreError):
    """The app or version was never deployed."""


class StoreConflictError(StoreError):
    """A write conflicts with what is stored (a different plan under the same
    version, an existing schedule id, a lost race)."""


class TransactionConflictError(StoreConflictError):
    """A deadlock or a serialization failure rolled the transaction back;
    running it again may succeed (the consumers do)."""


class StaleStateError(StoreConflictError):
    """A step written from cached job state found the job changed (or a lease
    lost); nothing was written. The engine retries from the locked row."""


class InvalidDataError(StoreError):
    """The database refused a value of a step (say, an expression produced a NUL
    character, which jsonb cannot hold); the step's job fails with it."""


#: the errors a one-transaction step may be run again after (the database was
#: away, or the transaction lost a race); every other error fails at once
RETRYABLE: tuple[type[StoreError], ...] = (
    StoreUnavailableError,
    TransactionConflictError,
)


# --------------------------------------------------------------------------
# Jobs and inputs


class InputValidationError(HotMeshError):
    """A job input breaks its graph's ``input.schema``; nothing was written."""

    def __init__(self, topic: str, pointer: str, message: str) -> None:
        self.topic = topic
        self.pointer = pointer
        super().__init__(
            f"input for '{topic}' is invalid at {pointer or '/'}: {message}"
        )


class TriggerError(HotMeshError):
    """An expression failed while a job was starting, so no job was created.

    ``where`` names the trigger's field (``trigger 't1' job.maps``) or the
    activity run in the trigger's step; the expression's own error is chained
    as ``__cause__``. Upstream's trigger throws at the same point, before its
    job exists.
    """

    def __init__(self, topic: str, where: str, reason: str) -> None:
        self.topic = topic
        self.where = where
        super().__init__(f"no job started for '{topic}': {where} failed: {reason}")


class JobError(HotMeshError):
    """A job finished with an error; ``error`` is its parsed ``metadata.err``."""

    def __init__(self, job_id: str, error: dict[str, Any]) -> None:
        self.job_id = job_id
        self.error = error
        self.code = error.get("code")
        super().__init__(
            f"job '{job_id}' failed ({self.code}): {error.get('message', '')}"
        )


class TimeoutError(HotMeshError, builtins.TimeoutError):
    """A wait ran out of time; the job may still complete later.

    Also a built-in ``TimeoutError``: ``except TimeoutError`` catches it.
    """


class ActivityTimeoutError(TimeoutError):
    """An activity ran out of one of its ``proxy_activities`` timeouts.

    ``timeout_type`` says which: ``start_to_close`` (an attempt ran too long)
    and ``heartbeat`` (an attempt did not heartbeat in time) fail the attempt,
    and the retry policy decides what happens next; ``schedule_to_start`` (the
    first attempt was picked up too late) and ``schedule_to_close`` (the
    activity, retries included, ran past its time) fail the activity.
    """

    #: what each kind of timeout says happened
    _SAID: ClassVar[dict[str, str]] = {
        "start_to_close": "ran longer than its start_to_close_timeout",
        "heartbeat": "did not heartbeat within its heartbeat_timeout",
        "schedule_to_start": "was not started within its schedule_to_start_timeout",
        "schedule_to_close": "did not complete within its schedule_to_close_timeout",
    }

    def __init__(
        self,
        activity: str,
        seconds: float,
        timeout_type: str = "start_to_close",
        detail: str = "",
    ) -> None:
        self.activity = activity
        self.seconds = seconds
        self.timeout_type = timeout_type
        said = self._SAID.get(timeout_type, f"ran out of its {timeout_type}_timeout")
        super().__init__(f"activity '{activity}' {said} ({seconds:g} s){detail}")


class JobTimeoutError(TimeoutError):
    """``pubsub`` ran out of time (code 504); ``job_id`` names the still-running job,
    ``waiting`` what it waits on (activity and topic), when that is known."""

    code = 504

    def __init__(
        self, job_id: str, timeout: float, waiting: Sequence[str] = ()
    ) -> None:
        self.job_id = job_id
        self.waiting = tuple(waiting)
        on = f"; it waits on {', '.join(self.waiting)}" if self.waiting else ""
        super().__init__(
            f"job '{job_id}' did not finish within {timeout:g}s (code 504){on}. "
            f"The job keeps running: follow it with `hotmesh status {job_id}`"
        )


class UnknownTopicError(HotMeshError):
    """No graph of the active app version subscribes to the topic (or, for a
    signal, no graph ``hooks`` rule listens on it)."""


# --------------------------------------------------------------------------
# Payloads (MemFlow's data converter and codec)


class DataConversionError(HotMeshError, builtins.TypeError):
    """A value that the data converter cannot encode to JSON, or JSON that it
    cannot decode into the declared type; the message names where (the
    argument, field or result) and the type."""


class PayloadCodecError(HotMeshError):
    """A stored payload was encoded by a codec this process was not given, or
    the codec failed to encode or decode it."""


# --------------------------------------------------------------------------
# Workflows (MemFlow)


class WorkflowError(HotMeshError):
    """A code-first workflow failed."""


class NondeterminismError(WorkflowError):
    """A replayed workflow asked for a different step than the one recorded."""


class DuplicateWorkflowError(WorkflowError, DuplicateJobError):
    """A live workflow already has this workflow id."""

    def __init__(self, workflow_id: str) -> None:
        self.job_id = self.workflow_id = workflow_id
        HotMeshError.__init__(
            self, f"a workflow with id '{workflow_id}' is already running"
        )


class ActivityFailedError(WorkflowError):
    """An activity failed after its retry policy was exhausted."""

    def __init__(
        self,
        activity: str,
        message: str,
        error_type: str = "Error",
        timeout_type: str | None = None,
    ) -> None:
        self.activity = activity
        self.error_type = error_type
        #: for an ``ActivityTimeoutError``: which timeout ran out
        self.timeout_type = timeout_type
        super().__init__(f"activity '{activity}' failed: {error_type}: {message}")


class ActivityTokenError(WorkflowError):
    """``complete_activity`` / ``fail_activity`` got a task token that is not
    one, or whose activity is no longer waiting (already completed, failed,
    or its workflow ended)."""


class ActivityCancelledError(WorkflowError):
    """``client.heartbeat_activity``: the activity's workflow was cancelled
    or has ended, so the activity completed from outside should stop (and be
    failed or completed)."""


class WorkflowFailedError(WorkflowError):
    """A workflow raised; ``error_type`` and ``message`` come from the remote side."""

    def __init__(self, workflow_id: str, error_type: str, message: str) -> None:
        self.workflow_id = workflow_id
        self.error_type = error_type
        super().__init__(f"workflow '{workflow_id}' failed: {error_type}: {message}")


class WorkflowCancelledError(WorkflowFailedError):
    """The workflow was cancelled (``handle.cancel()``) and let the
    ``CancelledError`` end it."""


class WorkflowTerminatedError(WorkflowFailedError):
    """The workflow was terminated (``handle.terminate()`` / ``interrupt``):
    stopped at once, no cleanup ran (code 410 unless another was given)."""


class WorkflowTimedOutError(WorkflowFailedError):
    """The workflow ran past its ``execution_timeout`` or ``run_timeout`` and
    was ended (code 408): no cleanup ran."""


class UnknownHandlerError(WorkflowError):
    """A query, update or signal named a handler the workflow has not registered."""

    def __init__(
        self, workflow_id: str, kind: str, name: str, known: Sequence[str]
    ) -> None:
        self.workflow_id = workflow_id
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        names = ", ".join(f"'{n}'" for n in self.known) or "none"
        hint = ""
        close = difflib.get_close_matches(name, self.known, n=1)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        super().__init__(
            f"workflow '{workflow_id}' has no {kind} handler '{name}'{hint}; "
            f"its {kind} handlers: {names}"
        )


class UpdateRejectedError(WorkflowError):
    """An update's validator refused it: the handler did not run, and (when the
    client could validate first) nothing was recorded."""

    def __init__(self, workflow_id: str, name: str, message: str) -> None:
        self.workflow_id = workflow_id
        self.name = name
        super().__init__(
            f"update '{name}' of workflow '{workflow_id}' was rejected: {message}"
        )


class UpdateFailedError(WorkflowError):
    """An update's handler raised (the workflow goes on); or the workflow ended
    before the update was applied."""

    def __init__(
        self, workflow_id: str, name: str, error_type: str, message: str
    ) -> None:
        self.workflow_id = workflow_id
        self.name = name
        self.error_type = error_type
        super().__init__(
            f"update '{name}' of workflow '{workflow_id}' failed: "
            f"{error_type}: {message}"
        )


class QueryFailedError(WorkflowError):
    """A query handler raised, or the workflow could not be replayed for it."""


class ConditionTimeoutError(TimeoutError, WorkflowError):
    """``wait_condition(..., timeout=)`` ran out before its predicate held
    (also a built-in ``TimeoutError``, as Temporal's ``asyncio.TimeoutError``)."""


def problems_from(items: Sequence[Problem]) -> list[Problem]:
    """Sort problems by file and position, dropping exact duplicates."""
    return sorted(
        set(items), key=lambda p: (p.file, p.line, p.col, p.pointer, p.message)
    )
