"""Group commit across jobs (issue 21): the one-statement writes of several
jobs (a step from cached state, a new job) that are ready together commit in
one transaction, so many jobs pay for one commit.

Batching is natural: a write that finds a lane free runs at once, alone and
autocommitted, as without grouping (a job run alone waits for nothing).
Writes that arrive while every lane is committing queue up; the next lane to
free up takes up to ``MAX_BATCH`` of them, in job-id order (every process
locks job rows in the same order: batches cannot deadlock each other), and
runs them in one transaction. No background task: the first write of a batch
runs it, and passes the lane on to the next queued write when it is done.

A write that fails in a batch (a stale cached state, a value the database
refuses) rolls the transaction back; it gets its own error, and the others run
again without it. So each write stays atomic, and a failing one loses none of
its neighbours. A commit is all or nothing: after a crash every message of
the batch is still there, and is delivered again.

A batch never waits long for a row lock (``LOCK_TIMEOUT``). Alone, a write
that waits for a lock waits for one transaction; in a batch it would make
every write of the batch, and every write queued for the lane, wait too, and
if the lock's holder were itself waiting for this process in any way (for
the lane, a connection, a task), nothing would ever move: PostgreSQL sees
only its side of that cycle. So a write that cannot get its lock in time
leaves the batch, as a deadlock's victim does, and runs again alone in its
own task once the batch has given up its lane: it then waits exactly as it
would with grouping off.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from hotmesh import errors
from hotmesh.store.faults import connection_lost, mapped
from hotmesh.store.keeper import ConnectionKeeper

T = TypeVar("T")
#: most writes in one transaction: each holds its job's row lock until the
#: commit, and a failing one makes the rest run again
MAX_BATCH = 32
#: batches committing at once (each on its own kept connection)
LANES = 2
#: seconds a batch waits for one row lock before its writer runs alone
LOCK_TIMEOUT = 1.0


class Statements:
    """What a write calls (``fetch``, ``execute``), each as one autocommitted
    statement on one of the keeper's connections."""

    def __init__(self, keeper: ConnectionKeeper) -> None:
        self._keeper = keeper
        # the keeper's own method: no coroutine between (issue 21)
        self.fetch: Callable[..., Awaitable[list[Any]]] = keeper.statement

    async def execute(self, query: str, *args: Any) -> str:
        await self._keeper.statement(query, *args)
        return ""


Write = Callable[[Any], Awaitable[T]]


class _Queued(Generic[T]):
    """A write waiting for its batch: the lane (``LEAD``) or its outcome
    comes through ``future``."""

    __slots__ = ("future", "key", "write")

    def __init__(self, write: Write[T], key: str, future: asyncio.Future[Any]) -> None:
        self.write, self.key, self.future = write, key, future


#: the future of a queued write gets this when it is to run the next batch
LEAD = object()
#: ... and this when it left its batch (a deadlock, a lock not granted in
#: time) and is to run again alone
ALONE = object()


class GroupCommit:
    """Runs one-statement writes, several jobs' in one transaction when they
    come together; ``enabled = False`` runs each alone (autocommitted)."""

    def __init__(
        self,
        keeper: ConnectionKeeper,
        queries: Mapping[str, str],
        lanes: int = LANES,
        max_batch: int = MAX_BATCH,
        enabled: bool = True,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.keeper = keeper
        self.lanes, self.max_batch, self.enabled = lanes, max_batch, enabled
        #: the store's named queries: each batch's transaction starts with
        #: ``batch_lock_timeout``
        self._q, self.lock_timeout = queries, lock_timeout
        self.queue: collections.deque[_Queued[Any]] = collections.deque()
        #: lanes running a write or a batch
        self.busy = 0
        #: transactions that committed several writes, and those writes
        self.batches = 0
        self.batched = 0

    async def run(self, write: Write[T], key: str, alone: bool = False) -> T:
        """``write(conn)``'s result, committed alone or with others' writes.

        ``write`` calls ``fetch``/``execute`` on ``conn``, may run again (a
        neighbour failed), and keys the job it locks (``key``, the lock order).
        ``alone``: it takes locks out of that order (a keyed flow limit's
        gate), so it never joins a batch.
        """
        if not self.enabled or alone:
            return await write(Statements(self.keeper))
        if self.busy < self.lanes and not self.queue:
            self.busy += 1  # a lane is free and nobody waits: at once, alone
            try:
                return await write(Statements(self.keeper))
            finally:
                self._pass_on()
        me: _Queued[T] = _Queued(write, key, asyncio.get_running_loop().create_future())
        self.queue.append(me)
        if self.busy < self.lanes:  # (a lane freed by a cancelled leader)
            self.busy += 1
            self._pass_on()
        try:
            outcome = await me.future
        except asyncio.CancelledError:
            if me in self.queue:
                self.queue.remove(me)
            elif _led(me.future):  # the lane must not be lost
                self._pass_on()
            raise
        if outcome is ALONE:
            return await write(Statements(self.keeper))
        if outcome is not LEAD:
            return outcome  # type: ignore[no-any-return]
        me.future = asyncio.get_running_loop().create_future()
        batch = [me] + [
            self.queue.popleft()
            for _ in range(min(len(self.queue), self.max_batch - 1))
        ]
        batch.sort(key=lambda q: q.key)  # the lock order
        try:
            await self._together(batch)
        finally:
            interrupted = errors.StoreUnavailableError("group commit interrupted")
            _settle([q for q in batch if q is not me], interrupted)
            self._pass_on()  # before any write runs alone: it may wait for a lock
        result = me.future.result()  # (its error, if it failed)
        if result is ALONE:
            return await write(Statements(self.keeper))
        return result  # type: ignore[no-any-return]

    def _pass_on(self) -> None:
        """This lane is done: the oldest queued write runs the next batch."""
        while self.queue:
            head = self.queue.popleft()
            if not head.future.done():  # (else cancelled meanwhile)
                head.future.set_result(LEAD)
                return
        self.busy -= 1

    async def _together(self, batch: list[_Queued[Any]]) -> None:
        """Run ``batch`` in one transaction and tell each write its outcome.
        A write that fails rolls it back and gets its error; the others run
        again, each in a savepoint now, so a second failure costs no second
        round. A deadlock's victim, or a write whose lock did not come in
        time, is told to run again alone (``ALONE``)."""
        guarded = False
        while len(batch) > 1:
            outcomes: list[tuple[Any, BaseException | None]] = []
            try:
                with mapped():
                    async with self.keeper.connection() as conn:
                        async with conn.transaction():
                            await conn.fetch(
                                self._q["batch_lock_timeout"],
                                f"{self.lock_timeout * 1000:.0f}ms",
                            )
                            for queued in batch:
                                outcomes.append(await _write(queued, conn, guarded))
                                if outcomes[-1][1] is not None and not guarded:
                                    raise _RolledBack
            except _RolledBack:
                bad = batch[len(outcomes) - 1]
                _failed(bad, outcomes[-1][1])
                batch = [q for q in batch if q is not bad]
                guarded = True
                continue
            except Exception as exc:
                # the commit failed, or the connection went: the same outcome
                # for all (the callers retry or fail as for a write alone)
                _settle(batch, exc)
                return
            self.batches += 1
            self.batched += sum(1 for _, error in outcomes if error is None)
            for queued, (result, error) in zip(batch, outcomes, strict=True):
                if error is None:
                    _outcome(queued, result)
                else:
                    _failed(queued, error)
            return
        if batch:  # one left: it runs alone, on this lane as a write alone does
            queued = batch[0]
            try:
                _outcome(queued, await queued.write(Statements(self.keeper)))
            except Exception as exc:
                _outcome(queued, None, exc)


class _RolledBack(Exception):
    """A write of a batch failed: roll the transaction back."""


async def _write(
    queued: _Queued[Any], conn: Any, guarded: bool
) -> tuple[Any, BaseException | None]:
    """A write's result or error; in a savepoint when ``guarded``. A lost
    connection fails the whole batch."""
    try:
        with mapped():
            if not guarded:
                return await queued.write(conn), None
            async with conn.transaction():  # a savepoint
                return await queued.write(conn), None
    except Exception as exc:
        if connection_lost(exc):
            raise
        return None, exc


def _failed(queued: _Queued[Any], error: BaseException | None) -> None:
    """A write failed in a batch: a deadlock (the batch held its locks in
    another order than a transaction of another process) or a lock not
    granted in time is no fault of the write, which runs again alone; any
    other error is its own."""
    if isinstance(error, errors.TransactionConflictError):
        _outcome(queued, ALONE)
    else:
        _outcome(queued, None, error)


def _led(future: asyncio.Future[Any]) -> bool:
    """Whether ``future`` handed its write the lane."""
    done = future.done() and not future.cancelled()
    return done and future.exception() is None and future.result() is LEAD


def _outcome(
    queued: _Queued[Any], result: Any, exc: BaseException | None = None
) -> None:
    """Tell a write its outcome (unless its caller was cancelled meanwhile)."""
    if queued.future.done():
        return
    if exc is None:
        queued.future.set_result(result)
    else:
        queued.future.set_exception(exc)


def _settle(batch: list[_Queued[Any]], exc: BaseException) -> None:
    """Fail the writes of ``batch`` that have no outcome yet."""
    for queued in batch:
        _outcome(queued, None, exc)
