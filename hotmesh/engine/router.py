"""A stream consumer: batched claims, bounded concurrency, NOTIFY/timer/poll wake-ups."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from hotmesh import errors
from hotmesh.engine import wakeups
from hotmesh.engine.ports import Store
from hotmesh.engine.wakeups import Wakeups
from hotmesh.store.faults import transient
from hotmesh.store.records import Claimed, Message
from hotmesh.telemetry import logs

log = logs.get("hotmesh.router")

#: how many ids of messages whose handler ended a consumer remembers (ids are
#: never reused): enough to cover the replies of the claims in flight
ENDED_KEPT = 4096


async def retrying(
    action: Callable[[], Awaitable[None]],
    what: str,
    stopping: Callable[[], bool] = lambda: False,
    attempts: int = 20,
    give_up: Callable[[Exception], Awaitable[None]] | None = None,
) -> None:
    """Run ``action``; retry it with back-off (0.05 s doubling to 2 s, about 35 s in
    all) when the database was away or the transaction lost a race
    (``errors.RETRYABLE``); any other error is not retried.

    Each step is one transaction, so running it again is safe. We still hold
    the message's claim, so no other process takes it meanwhile; if every try
    fails, the claim expires and another consumer takes the message. A bug
    (say, a ``KeyError``) or a value the step cannot handle would fail the same
    way each time, here and in every process that claims the message next: it
    goes to ``give_up`` (the engine fails the job with it, issue 20 §4) unless
    it looks like a lost connection (``faults.transient``) or we are stopping.
    """
    delay = 0.05
    for attempt in range(1, attempts + 1):
        try:
            await action()
            return
        except errors.RETRYABLE as exc:
            if stopping() or attempt == attempts:
                log.exception("%s failed after %d tries", what, attempt)
                return
            log.warning("%s failed (%s); retrying in %.2fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        except Exception as exc:  # a failing handler must not kill the consumer
            log.exception("%s failed", what)
            if give_up is not None and not transient(exc) and not stopping():
                try:
                    await give_up(exc)
                except Exception:
                    log.exception("%s: could not record the failure", what)
            return


class Consumer:
    """Claims messages of one stream and runs ``handle`` on each, ``capacity`` at a time."""

    def __init__(
        self,
        store: Store,
        app_id: str,
        stream: str,
        owner: str,
        handle: Callable[[Message], Awaitable[None]],
        capacity: int = 32,
        lease: float = 30.0,
        poll: float = 2.0,
        give_up: Callable[[Message, Exception], Awaitable[None]] | None = None,
    ) -> None:
        self.give_up = give_up
        self.store, self.app_id, self.stream, self.owner = store, app_id, stream, owner
        self.handle, self.capacity, self.lease, self.poll = (
            handle,
            capacity,
            lease,
            poll,
        )
        self.event = asyncio.Event()
        self.inflight: set[asyncio.Task[None]] = set()
        #: claimed messages not yet finished: their claims are kept alive
        self.held: dict[int, Message] = {}
        #: when each held claim runs out, as far as this process knows (loop time)
        self._until: dict[int, float] = {}
        #: ids of messages whose handler ended here lately, oldest first, with
        #: how often our own claim took each back while it ran (see _claimed)
        self._ended: OrderedDict[int, int] = OrderedDict()
        #: held messages our own claim took back while they ran: how often
        self._retaken: dict[int, int] = {}
        self._beat: asyncio.Task[None] | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        #: due times of delayed messages, a bounded few (one timer armed for
        #: the earliest): not one timer per sleeping job (issue 21)
        self._wakeups = Wakeups()
        self._timer: asyncio.TimerHandle | None = None
        self._armed = 0.0
        #: the kept due times ran out and others were left out: read the next
        self._rescan = False
        #: visible messages may be waiting that a full batch or full capacity left
        #: behind: a finishing task should trigger a claim (else it costs a query)
        self._backlog = True
        #: the one wake-up armed for a limited stream (replaced by each claim)
        self._limit_timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Start the claim loop and the claim heartbeat."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run())
        self._beat = loop.create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        """Extend every held claim each third of the lease, in one statement.

        A message waits in this process (for a pool connection, or a long
        worker callback) longer than its lease only if the process is stuck or
        dead; without this, a busy but healthy process would see its claims
        expire, other processes would take them, and claim counts would look
        like poison. A crashed process stops beating, so its claims expire.
        """
        # at most 1.5 s: messages inserted for us start with a 5 s claim
        period = min(self.lease / 3, 1.5)
        pause, failed = period, False
        while not self._stopping:
            await asyncio.sleep(pause)
            if not self.held:
                continue
            began = asyncio.get_running_loop().time()
            try:
                ids = list(self.held)
                await self.store.extend_leases(ids, self.owner, self.lease)
                for mid in ids:
                    if mid in self._until:
                        self._until[mid] = began + self.lease
                pause, failed = period, False
            except Exception as exc:  # the database is away: beat again soon
                log.warning("stream %s: could not extend claims: %s", self.stream, exc)
                # a lost connection must not cost a whole period of the
                # short first claim: retry from 0.1 s, doubling up to it
                pause = min(pause * 2, period) if failed else min(0.1, period)
                failed = True

    def submit(self, msg: Message, checked: bool = False) -> None:
        """Run a message this process already holds (inserted reserved by us);
        ``checked``: only if its row is still there and ours (see ``_claimed``)."""
        if self._stopping:
            return  # stop() releases our reservations; another consumer takes it
        loop = asyncio.get_running_loop()
        if msg.id in self.held:
            # Claimed again by this very process: its claim lapsed while the
            # first run was still here (heartbeats lost to a cut connection,
            # or a starved loop) and the claim query took it back for us. The
            # first run goes on and acks it; a second would run the callback
            # twice in one living process.
            self._until[msg.id] = loop.time() + min(self.lease, 5.0)
            return
        self.held[msg.id] = msg
        # claimed (or inserted for us) with a claim of at most 5 s
        self._until[msg.id] = loop.time() + min(self.lease, 5.0)
        task = loop.create_task(self._one(msg, checked))
        self.inflight.add(task)
        task.add_done_callback(self._done)

    def _claimed(self, msg: Message) -> None:
        """Run a message our claim returned (``submit`` skips one still running here).

        A message whose handler ended here while the claim's reply was on its
        way was acked, or its answer could not be written: only a check of its
        row tells which, so it runs again only if the row is still ours. Each
        time our claim took a message back while it ran here counted a claim
        (``attempts``) that was no new attempt: those are not counted towards
        poison when it runs here again.
        """
        if msg.id in self.held:
            self._retaken[msg.id] = self._retaken.get(msg.id, 0) + 1
        retaken = self._ended.get(msg.id)
        if retaken:
            msg = dataclasses.replace(msg, attempts=max(1, msg.attempts - retaken))
        self.submit(msg, checked=retaken is not None)

    def wake(self, delay: float = 0.0) -> None:
        """Claim now, or after ``delay`` seconds (a message that becomes visible later)."""
        if delay <= 0:
            self.event.set()
            return
        if self._stopping:
            return
        at = asyncio.get_running_loop().time() + delay + 0.002
        if self._wakeups.add(at):
            self._arm(at)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed = at
        self._timer = asyncio.get_running_loop().call_at(at, self._ring)

    def _ring(self) -> None:
        """A due time came: claim, and arm the next one kept."""
        self._timer = None
        now = max(asyncio.get_running_loop().time(), self._armed)
        if self._wakeups.passed(now):
            self._rescan = True
        upcoming = self._wakeups.next()
        if upcoming is not None:
            self._arm(upcoming)
        self.event.set()

    async def _next_due(self) -> None:
        """Arm wake-ups for the next due times the database holds; when it
        has more than are kept, the next are read once those have passed
        (one query per ``wakeups.SIZE`` due times, only beyond the kept few)."""
        try:
            times = await self.store.next_due(self.app_id, self.stream, wakeups.SIZE)
        except Exception as exc:  # the database is away: the poll covers us
            log.warning(
                "stream %s: could not read the next due times: %s", self.stream, exc
            )
            return
        for delay in times:
            self.wake(max(delay, 0.001))
        if len(times) >= wakeups.SIZE:
            self._wakeups.unknown = True

    def _limit_wake(self, delay: float) -> None:
        if self._limit_timer is not None:
            self._limit_timer.cancel()
        self._limit_timer = asyncio.get_running_loop().call_later(
            delay + 0.002, self.event.set
        )

    async def stop(self, grace: float | None = None) -> list[Message]:
        """Stop claiming, let in-flight messages finish: within ``grace``
        seconds when given; those still running then are cancelled (their
        callbacks abandoned) and returned. Their claims are released by the
        caller, so another process runs them again (at-least-once)."""
        self._stopping = True
        self.event.set()
        if self._timer is not None:
            self._timer.cancel()
        self._wakeups.clear()
        if self._limit_timer is not None:
            self._limit_timer.cancel()
        if self._beat is not None:
            self._beat.cancel()
        if self._task is not None:
            # Cancelled, not awaited: its claim may wait for a connection
            # that in-flight work holds, or that a hung callback never gives
            # back (only ended past the grace, below). Stopping, it would
            # start nothing it claims; what the claim reserved is released
            # with the rest (or its short first claim expires).
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if not self.inflight:
            return []
        _, late = await asyncio.wait(set(self.inflight), timeout=grace)
        if not late:
            return []
        abandoned = list(self.held.values())
        for task in late:
            task.cancel()
        # Our handlers stop at once when cancelled (a callback that ignores
        # cancellation is left behind, not awaited).
        await asyncio.wait(late, timeout=1.0)
        return abandoned

    async def _one(self, msg: Message, checked: bool = False) -> None:
        try:
            # (the usual case checked here: no coroutine for it, issue 21)
            lapsed = asyncio.get_running_loop().time() > self._until.get(
                msg.id, float("inf")
            )
            if (checked or lapsed) and not await self._still_ours(msg, checked):
                return
            give_up = self.give_up
            await retrying(
                lambda: self.handle(msg),
                f"stream {self.stream}: message {msg.id}",
                lambda: self._stopping,
                give_up=None if give_up is None else lambda exc: give_up(msg, exc),
            )
        finally:
            self.held.pop(msg.id, None)
            self._until.pop(msg.id, None)
            # (moved to the newest end; the counts add up over its runs here)
            self._ended[msg.id] = self._ended.pop(msg.id, 0) + self._retaken.pop(
                msg.id, 0
            )
            if len(self._ended) > ENDED_KEPT:
                self._ended.popitem(last=False)

    async def _still_ours(self, msg: Message, checked: bool = False) -> bool:
        """False when the claim lapsed (the process was paused, or starved, past
        its lease) and another consumer has taken the message since: then it
        is not started here a second time. Costs a query only after a lapse,
        or when ``checked`` (its handler already ended here once)."""
        now = asyncio.get_running_loop().time()
        if not checked and now <= self._until.get(msg.id, float("inf")):
            return True
        try:
            kept = await self.store.renew_claims([msg.id], self.owner, self.lease)
        except Exception as exc:  # the database is away
            log.warning(
                "stream %s: could not check a lapsed claim: %s", self.stream, exc
            )
            # Ended here already: its claim lapses and it is checked again.
            # Otherwise the step's own ack decides.
            return not checked
        if msg.id in kept:
            return True
        if checked:
            return False  # acked by its first run here: nothing to run
        log.warning(
            "stream %s: message %d not started: its claim lapsed and another "
            "process took it",
            self.stream,
            msg.id,
        )
        return False

    def _done(self, task: asyncio.Task[None]) -> None:
        self.inflight.discard(task)
        if self._backlog:
            self.event.set()

    async def resync(self) -> None:
        """Claim now and arm a wake-up for the next delayed message.

        Called at start and after the LISTEN connection comes back, when
        notifications of new delayed messages may have been missed.
        """
        self.wake()
        await self._next_due()

    async def _run(self) -> None:
        await self.resync()
        while not self._stopping:
            free = self.capacity - len(self.inflight)
            if free > 0:
                self.event.clear()
                try:
                    # A short first claim, extended by the heartbeat once held:
                    # if the claim's reply is lost, the messages free up soon.
                    claimed = await self.store.claim(
                        self.app_id, self.stream, self.owner, min(self.lease, 5.0), free
                    )
                except Exception as exc:  # the database is away: poll again later
                    log.warning("stream %s: claim failed: %s", self.stream, exc)
                    claimed = Claimed([])
                for msg in claimed.messages:
                    self._claimed(msg)
                if self._rescan:
                    self._rescan = False
                    await self._next_due()
                full = len(claimed.messages) == free
                # A limited stream may hold messages back that no notification
                # will announce again: claim when one of ours ends, and when a
                # claim expires or the rate window moves on.
                self._backlog = full or claimed.limited
                if full:
                    continue  # maybe more waiting; a short batch means drained
                if claimed.wait is not None:
                    self._limit_wake(claimed.wait)
            else:
                self._backlog = True  # woken while full: claim when a slot frees
            try:
                await asyncio.wait_for(self.event.wait(), self.poll)
            except TimeoutError:
                pass
