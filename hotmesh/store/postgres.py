"""The PostgreSQL store: the only module that talks to asyncpg (besides migrations)."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from hotmesh import errors
from hotmesh.config import mask_dsn, validate_name
from hotmesh.store.migrate import migrate, quote_schema
from hotmesh.store.records import ActivityRow, JobRow, Message, NewMessage
from hotmesh.store.sql import queries

log = logging.getLogger("hotmesh.store")
#: errors that mean the connection (not the statement) failed
_CONNECTION_LOST = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
)
_encode = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    """JSON for jsonb; NaN and infinities become ``null``, as ``JSON.stringify``
    writes them (jsonb has no such numbers, and expressions can produce them)."""
    try:
        return _encode(value)
    except ValueError:  # rare: only then walk the value
        return _encode(_finite(value))


@contextmanager
def _storable() -> Iterator[None]:
    """A value the database refuses (bad text in jsonb, an unencodable object)
    is the step's fault, not the connection's: a hotmesh error, so the step
    fails its job instead of being retried as if the database were away."""
    try:
        yield
    except (asyncpg.DataError, asyncpg.ProgramLimitExceededError) as exc:
        # e.g. a NUL in jsonb, or a key longer than an index entry can hold
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise errors.InvalidDataError(
            f"the database refused a value: {first[:300]}"
        ) from None


def _malformed(dsn: str) -> errors.StoreUnavailableError:
    """asyncpg's DSN parser echoes pieces of a malformed DSN (a password with an
    unescaped '/' is read as a port number): say what is wrong without them."""
    return errors.StoreUnavailableError(
        f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: the DSN is malformed "
        "(percent-encode '/', '?', '#' and '@' in the user name and password)"
    )


class _Connection(asyncpg.Connection):
    """Pooled connection without the per-release reset query.

    hotmesh keeps no session state on pooled connections (LISTEN uses its own
    connection), and the default reset costs a transaction per release.
    """

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog"
    )


def _job(row: asyncpg.Record) -> JobRow:
    return JobRow(
        pk=row["id"],
        job_id=row["job_id"],
        gid=row["gid"],
        key=row["key"],
        topic=row["topic"],
        version=row["version"],
        status=row["status"],
        metadata=row["metadata"],
        data=row["data"],
        err=row["err"],
    )


def _locked(row: asyncpg.Record) -> JobRow:
    """A job row read with its activity rows (``acts``, one JSON array each)."""
    job = _job(row)
    job.activities = [ActivityRow(*a) for a in row["acts"]]
    return job


def _activity(row: asyncpg.Record) -> ActivityRow:
    keys = row.keys()
    return ActivityRow(
        activity_id=row["activity_id"],
        dimension=row["dimension"],
        type=row["type"],
        leg=row["leg"],
        done=row["done"],
        input=row["input"],
        output=row["output"],
        hook=row["hook"],
        error=row["error"],
        started_at=row["started_at"] if "started_at" in keys else None,
        ended_at=row["ended_at"] if "ended_at" in keys else None,
    )


def _activity_doc(rows: Sequence[ActivityRow]) -> list[dict[str, Any]]:
    """Activity rows as one jsonb parameter (``jsonb_to_recordset``): one encode
    per statement instead of nine parallel arrays checked element by element."""
    return [
        {
            "a": r.activity_id,
            "d": r.dimension,
            "t": r.type,
            "l": r.leg,
            "dn": r.done,
            "i": r.input,
            "o": r.output,
            "h": r.hook,
            "e": r.error,
        }
        for r in rows
    ]


def _message_doc(messages: Sequence[NewMessage]) -> list[dict[str, Any]]:
    """New messages as one jsonb parameter (see ``_activity_doc``)."""
    return [
        {
            "s": m.stream,
            "t": m.type,
            "p": m.priority,
            "j": m.job_id,
            "pl": {**m.payload, "guid": m.guid},
            "d": m.delay,
            "r": m.reserved_by,
        }
        for m in messages
    ]


def _reserved(
    rows: Sequence[asyncpg.Record], messages: Sequence[NewMessage]
) -> list[Message]:
    ids = {r["guid"]: r["id"] for r in rows if r["id"] is not None and r["reserved_by"]}
    return [
        Message(ids[m.guid], m.type, {**m.payload, "guid": m.guid}, 1, m.stream)
        for m in messages
        if m.guid in ids
    ]


@dataclass(frozen=True, slots=True)
class StepWrite:
    """Everything one step writes, for the single-statement ``write_step``/``create_job``."""

    app_id: str
    job: JobRow
    delta: int
    expire: float | None
    activities: Sequence[ActivityRow]
    messages: Sequence[NewMessage]
    channel: str
    notes: Sequence[str]
    lease: float


async def _create_job(
    conn: Any, q: dict[str, str], w: StepWrite
) -> tuple[int | None, list[Message], str]:
    job = w.job
    args = [
        w.app_id,
        job.job_id,
        job.gid,
        job.key,
        job.topic,
        job.version,
        w.delta,
        job.metadata,
        job.data,
        job.err,
        job.metadata.get("pj"),
        w.expire,
        _activity_doc(w.activities),
        _message_doc(w.messages),
        w.lease,
        w.channel,
        list(w.notes),
    ]
    with _storable():
        rows = await conn.fetch(q["create_job"], *args)
        if rows[0]["job_pk"] is None:
            await conn.execute(q["delete_expired_job"], w.app_id, job.job_id)
            rows = await conn.fetch(q["create_job"], *args)
    pk = rows[0]["job_pk"]
    if pk is None:
        return None, [], ""
    return int(pk), _reserved(rows, w.messages), str(rows[0]["x"])


def _step_args(w: StepWrite) -> list[Any]:
    job = w.job
    return [
        job.pk,
        w.delta,
        job.data,
        job.metadata,
        job.err,
        w.expire,
        _activity_doc(w.activities),
        w.app_id,
        _message_doc(w.messages),
        w.lease,
        w.channel,
        list(w.notes),
    ]


async def _write_step(
    conn: Any,
    q: dict[str, str],
    w: StepWrite,
    message_ids: Sequence[int],
    owner: str,
    version: str | None,
) -> tuple[int, list[Message], str]:
    try:
        with _storable():
            rows = await conn.fetch(
                q["write_step"], *_step_args(w), list(message_ids), owner, version
            )
    except asyncpg.PostgresError as exc:
        if getattr(exc, "sqlstate", None) == "HM409":
            raise errors.StaleStateError(f"job {w.job.job_id}: stale state") from None
        raise
    return int(rows[0]["status"]), _reserved(rows, w.messages), str(rows[0]["x"])


class StoreTx:
    """Statements of one open transaction (one engine step)."""

    def __init__(self, conn: asyncpg.Connection, q: dict[str, str]) -> None:
        self._conn = conn
        self._q = q

    async def ack(self, message_id: int, owner: str) -> bool:
        """Delete a consumed message if ``owner`` still holds its reservation."""
        status = await self._conn.execute(self._q["ack"], message_id, owner)
        return bool(status == "DELETE 1")

    async def ack_and_lock(
        self, app_id: str, job_id: str, message_id: int, owner: str
    ) -> JobRow | None:
        """Delete the consumed message (if ``owner`` still holds it) and lock its job.

        ``None`` when the lease was lost or the job is gone; either way there is
        nothing to apply.
        """
        job, _acked = await self.ack_and_lock_many(app_id, job_id, [message_id], owner)
        return job

    async def ack_and_lock_many(
        self, app_id: str, job_id: str, message_ids: Sequence[int], owner: str
    ) -> tuple[JobRow | None, set[int]]:
        """``ack_and_lock`` for several messages of one job: the locked job and the
        ids this owner still held (the others were taken over and are skipped)."""
        row = await self._conn.fetchrow(
            self._q["ack_and_lock_many"], app_id, job_id, list(message_ids), owner
        )
        if row is None:
            return None, set()
        return _locked(row), set(row["acked"] or ())

    async def write_step(self, w: StepWrite) -> tuple[int, list[Message], str]:
        """Semaphore delta, data, activity rows, messages and NOTIFYs in one
        statement (the job row locked); returns the new status, the reserved
        messages and the row's new version (xmin)."""
        return await _write_step(self._conn, self._q, w, [], "", None)

    async def write_step_cas(
        self, w: StepWrite, message_ids: Sequence[int], owner: str, version: str
    ) -> tuple[int, list[Message], str]:
        """``write_step`` from cached state: also acks ``message_ids``, and raises
        ``StaleStateError`` (writing nothing) unless the job row is still at
        ``version`` and every message was still held by ``owner``."""
        return await _write_step(self._conn, self._q, w, message_ids, owner, version)

    async def create_job(self, w: StepWrite) -> tuple[int | None, list[Message], str]:
        """Insert a new job with its rows and messages; ``None`` for a live duplicate."""
        return await _create_job(self._conn, self._q, w)

    async def insert_messages(
        self, app_id: str, messages: Sequence[NewMessage], lease: float = 30.0
    ) -> list[Message]:
        """Insert stream messages; returns the ones inserted already reserved."""
        if not messages:
            return []
        rows = await self._conn.fetch(
            self._q["insert_messages"], app_id, _message_doc(messages), lease
        )
        return _reserved(rows, messages)

    async def get_plan(self, app_id: str, version: str) -> dict[str, Any] | None:
        """The stored plan document, read on this transaction's connection."""
        doc = await self._conn.fetchval(self._q["get_version"], app_id, version)
        return doc if isinstance(doc, dict) else None

    def savepoint(self) -> Any:
        """A nested transaction (savepoint) as an async context manager."""
        return self._conn.transaction()

    async def notify(self, channel: str, payloads: Sequence[str]) -> None:
        """NOTIFY inside the transaction (delivered only if it commits)."""
        if payloads:
            await self._conn.execute(self._q["notify"], channel, list(payloads))

    async def lock_job(self, app_id: str, job_id: str) -> JobRow | None:
        """Lock a live job row (with its activity rows) for a step not driven by a message."""
        row = await self._conn.fetchrow(self._q["lock_job"], app_id, job_id)
        return None if row is None else _locked(row)

    # -- signals (spec §4.11) ------------------------------------------------
    # A key holds either one webhook registration (kind 'hook') or the signals
    # that arrived before it (kind 'pending'). Both sides insert-or-lock the
    # same primary key, so whichever commits second sees the first: no signal
    # is lost in either order.
    async def register_hook(
        self, app_id: str, key: str, job_pk: int, target: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Register a waiting hook; returns early signals to deliver to it now."""
        q = self._q
        while True:
            if await self._conn.fetchval(
                q["signal_register"], app_id, key, job_pk, target
            ):
                return []
            row = await self._conn.fetchrow(q["signal_lock"], app_id, key)
            if row is None:
                continue  # deleted meanwhile: insert again
            if row["kind"] != "pending" or row["stale"]:
                # A stale registration (an earlier entry or a finished job).
                await self._conn.execute(
                    q["signal_set"], app_id, key, "hook", job_pk, target
                )
                return []
            early = [s for s in row["payload"] or [] if isinstance(s, dict)]
            if any(s.get("code") != 202 for s in early):
                await self._conn.execute(q["signal_delete"], app_id, key)
            else:
                await self._conn.execute(
                    q["signal_set"], app_id, key, "hook", job_pk, target
                )
            return early

    async def take_signal(
        self, app_id: str, key: str, signal: dict[str, Any], keep_for: float | None
    ) -> dict[str, Any] | None:
        """The registration a signal resumes (consumed unless code 202), or ``None``
        when no hook waits yet: then the signal is kept for ``keep_for`` seconds
        (dropped when ``keep_for`` is ``None``)."""
        q = self._q
        while True:
            row = await self._conn.fetchrow(q["signal_lock"], app_id, key)
            if row is not None and row["kind"] == "hook":
                target = row["payload"]
                if signal.get("code") != 202:
                    await self._conn.execute(q["signal_delete"], app_id, key)
                return target if isinstance(target, dict) else None
            if keep_for is None:
                return None
            if row is not None and not row["stale"]:
                await self._conn.execute(q["signal_append"], app_id, key, [signal])
                return None
            if row is not None:
                await self._conn.execute(q["signal_delete"], app_id, key)
            if await self._conn.fetchval(
                q["signal_pend"], app_id, key, [signal], keep_for
            ):
                return None

    async def unregister_hooks(
        self, app_id: str, keys: Sequence[str], job_pk: int
    ) -> None:
        """Drop this job's registrations under ``keys`` (a timer won the race)."""
        await self._conn.execute(
            self._q["signal_unregister"], app_id, list(keys), job_pk
        )

    async def open_escalation(
        self, app_id: str, job_id: str, row: dict[str, Any]
    ) -> None:
        """Open (or refresh) the pending escalation of a waiting hook."""
        await self._conn.execute(
            self._q["escalation_open"],
            app_id,
            row["signal_key"],
            row["topic"],
            job_id,
            row["activity_id"],
            row["type"],
            row["subtype"],
            row["role"],
            row["description"],
            row["priority"],
            row["metadata"],
            row["envelope"],
        )

    async def close_escalation(
        self, app_id: str, topic: str, key: str, status: str
    ) -> None:
        """Mark a pending escalation ``expired`` (or another final status)."""
        await self._conn.execute(
            self._q["escalation_close"], app_id, topic, key, status
        )

    async def cancel_escalations(self, app_id: str, job_id: str) -> None:
        """Cancel the pending escalations of an interrupted job."""
        await self._conn.execute(self._q["escalation_cancel_job"], app_id, job_id)

    async def resolve_escalation(
        self, app_id: str, escalation_id: str, payload: dict[str, Any]
    ) -> tuple[str, str] | None:
        """Mark a pending escalation resolved; its ``(topic, signal key)``."""
        row = await self._conn.fetchrow(
            self._q["escalation_resolve"], app_id, escalation_id, payload
        )
        return None if row is None else (row["topic"], row["signal_key"])

    async def add_facets(
        self, app_id: str, job_pk: int, job_id: str, facets: Sequence[str]
    ) -> None:
        """Index a new job under ``field:value`` facets."""
        await self._conn.execute(
            self._q["facets_insert"], app_id, job_pk, job_id, list(facets)
        )

    async def facet_jobs(self, app_id: str, facet: str, scrub: bool) -> list[str]:
        """Ids of active jobs indexed under ``facet`` (the index dropped if ``scrub``)."""
        rows = await self._conn.fetch(self._q["facet_jobs"], app_id, facet)
        if scrub:
            await self._conn.execute(self._q["facet_scrub"], app_id, facet)
        return [r["job_id"] for r in rows]

    async def active_children(self, app_id: str, job_id: str) -> list[str]:
        """Ids of the active child jobs of ``job_id``."""
        rows = await self._conn.fetch(self._q["active_children"], app_id, job_id)
        return [r["job_id"] for r in rows]


def _usable(conn: Any) -> bool:
    """Whether a pooled connection can run the next statement as it is."""
    try:
        return not conn.is_closed() and not conn.is_in_transaction()
    except asyncpg.InterfaceError:  # already detached from its pool
        return False


class _Statements:
    """What ``_create_job``/``_write_step`` call (``fetch``, ``execute``), each
    as one autocommitted statement on one of the store's kept connections."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self._store._fetch(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        await self._store._fetch(query, *args)
        return ""


class PostgresStore:
    """A connection pool on one hotmesh schema, plus a LISTEN connection."""

    def __init__(
        self, pool: asyncpg.Pool, dsn: str, schema: str, keep: int = 5
    ) -> None:
        self._pool = pool
        #: The hot paths (one-statement steps, create_job, claims, transactions)
        #: run on up to ``keep`` connections taken from the pool once and kept:
        #: asyncpg's acquire/release (a proxy, a timeout, a shielded release
        #: task) costs about as much CPU as a one-statement step. Waiters are
        #: served in arrival order; the rest of the pool serves everything else.
        self._keep = keep
        self._owned = 0
        self._idle: list[Any] = []
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._dsn = dsn
        self.schema = schema
        self.channel = f"hotmesh_{schema}"
        self._q = queries(quote_schema(schema))
        self._listener: asyncpg.Connection | None = None
        self._on_notify: Callable[[str], None] = lambda payload: None
        self._on_reconnect: Callable[[], None] = lambda: None
        self._relisten: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    async def open(
        cls, dsn: str, schema: str = "hotmesh", pool_size: int = 10
    ) -> PostgresStore:
        """Connect, migrate (under an advisory lock) and return the store."""
        quote_schema(schema)
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=pool_size,
                init=_init_connection,
                connection_class=_Connection,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise errors.StoreUnavailableError(
                f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {exc}"
            ) from None
        except ValueError:
            raise _malformed(dsn) from None
        assert pool is not None
        try:
            async with pool.acquire() as conn:
                await migrate(conn, schema)  # type: ignore[arg-type]
        except BaseException as exc:
            pool.terminate()  # else its floor keeps reconnecting in the background
            if isinstance(exc, asyncpg.PostgresError):
                raise errors.StoreError(
                    f"cannot prepare schema '{schema}' at {mask_dsn(dsn)}: {exc}"
                ) from None
            raise
        # two pool connections stay for the rest (plans, reads, the CLI)
        return cls(pool, dsn, schema, keep=pool_size - 2 if pool_size >= 4 else 0)

    async def close(self) -> None:
        """Close the listener and the pool."""
        self._closing = True
        if self._relisten is not None:
            self._relisten.cancel()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self._release_idle()
        await self._pool.close()

    async def _take(self) -> Any:
        """A kept connection (in arrival order), or the pool's when none is kept."""
        while True:
            while self._idle:
                conn = self._idle.pop()
                if _usable(conn):
                    return conn
                # closed while idle (asyncpg then hands it back to the pool itself)
                self._owned -= 1
                await self._pool.release(conn)
            if self._owned < self._keep or self._keep <= 0:
                self._owned += 1
                try:
                    return await self._pool.acquire()
                except BaseException:
                    self._owned -= 1
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over too late
                    if waiter.result() is None:
                        self._hand_over(None)
                    else:
                        await self._give(waiter.result(), True)
                raise
            if conn is not None:
                return conn
            # None: a kept connection was dropped; take its place from the pool

    def _hand_over(self, conn: Any) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def _give(self, conn: Any, clean: bool) -> None:
        """Pass ``conn`` to the next waiter or keep it; a connection that failed
        (or any, once closing) goes back to the pool, which resets or replaces it."""
        if clean and not self._closing and self._keep > 0 and _usable(conn):
            if not self._hand_over(conn):
                self._idle.append(conn)
            return
        self._owned -= 1
        await self._pool.release(conn)
        self._hand_over(None)

    async def _release_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            self._owned -= 1
            await self._pool.release(conn)
        for _ in idle:
            self._hand_over(None)

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """One autocommitted statement on a kept connection."""
        conn = await self._take()
        clean = False
        try:
            rows: list[asyncpg.Record] = await conn.fetch(query, *args)
            clean = True
            return rows
        except _CONNECTION_LOST:
            await self._give(conn, False)
            conn = None
            await self._connections_lost()
            raise
        except Exception:
            clean = True  # the statement failed, not the connection (_give checks)
            raise
        finally:
            if conn is not None:
                await self._give(conn, clean)

    async def listen(
        self,
        callback: Callable[[str], None],
        on_reconnect: Callable[[], None] = lambda: None,
    ) -> None:
        """Call ``callback(payload)`` for every NOTIFY on this schema's channel.

        If the listening connection drops (a database restart, a network cut),
        it is re-established with back-off, then ``on_reconnect()`` is called:
        notifications sent meanwhile are lost, so the caller re-checks its state.
        """
        self._on_notify = callback
        self._on_reconnect = on_reconnect
        self._listener = await self._listen_once()

    async def _listen_once(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self._dsn)
        callback = self._on_notify
        await conn.add_listener(
            self.channel, lambda _c, _p, _ch, payload: callback(payload)
        )
        conn.add_termination_listener(self._listener_lost)
        return conn

    def _listener_lost(self, conn: Any) -> None:
        conn.terminate()  # mark it closed (it is gone); else asyncpg warns on GC
        if self._closing or self._relisten is not None:
            return
        self._listener = None
        self._relisten = asyncio.get_running_loop().create_task(self._relisten_loop())

    async def _relisten_loop(self) -> None:
        delay = 0.05
        try:
            while not self._closing:
                try:
                    conn = await self._listen_once()
                    if self._closing:
                        await conn.close()
                        return
                    self._listener = conn
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning(
                        "LISTEN connection to %s lost (%s); retrying in %.2fs",
                        mask_dsn(self._dsn),
                        exc,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                log.info("LISTEN connection re-established")
                self._on_reconnect()
                return
        finally:
            self._relisten = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTx]:
        """One transaction on a pooled connection (``InvalidDataError`` when the
        database refuses a value: a step's fault, not the connection's)."""
        conn = await self._take()
        clean = False
        try:
            with _storable():
                async with conn.transaction():
                    yield StoreTx(conn, self._q)
            clean = True
        except _CONNECTION_LOST:
            await self._give(conn, False)
            conn = None
            await self._connections_lost()
            raise
        except Exception:
            clean = True  # rolled back: the connection is idle again (_give checks)
            raise
        finally:
            if conn is not None:
                await self._give(conn, clean)

    async def _connections_lost(self) -> None:
        """One pooled connection broke: assume the others did too (a restart or a
        network cut) and replace them all on next use, instead of failing once
        per stale connection."""
        await self._pool.expire_connections()
        await self._release_idle()  # the pool closes them: they are expired

    async def create_job(self, w: StepWrite) -> tuple[int | None, list[Message], str]:
        """``StoreTx.create_job`` as one autocommitted statement (one round trip)."""
        return await _create_job(_Statements(self), self._q, w)

    async def write_step_cas(
        self, w: StepWrite, message_ids: Sequence[int], owner: str, version: str
    ) -> tuple[int, list[Message], str]:
        """``StoreTx.write_step_cas`` as one autocommitted statement (one round trip)."""
        return await _write_step(
            _Statements(self), self._q, w, message_ids, owner, version
        )

    async def claim(
        self, app_id: str, stream: str, owner: str, lease: float, limit: int
    ) -> list[Message]:
        """Reserve up to ``limit`` visible messages (expired reservations included)."""
        rows = await self._fetch(self._q["claim"], app_id, stream, owner, lease, limit)
        msgs = [Message(r["id"], r["type"], r["payload"], r["attempts"]) for r in rows]
        msgs.sort(key=lambda m: m.id)
        return msgs

    async def next_visible(self, app_id: str, stream: str) -> float | None:
        """Seconds until the next unreserved message becomes visible, if any."""
        value = await self._pool.fetchval(self._q["next_visible"], app_id, stream)
        return None if value is None else float(value)

    async def ack(self, message_id: int, owner: str) -> bool:
        """Delete a message outside any step."""
        status = await self._pool.execute(self._q["ack"], message_id, owner)
        return bool(status == "DELETE 1")

    async def extend_leases(
        self, message_ids: Sequence[int], owner: str, lease: float
    ) -> None:
        """Keep claimed messages reserved for ``lease`` more seconds (a heartbeat)."""
        await self._pool.execute(
            self._q["extend_leases"], list(message_ids), owner, lease
        )

    async def release_stream(self, app_id: str, stream: str, owner: str) -> None:
        """Give back ``owner``'s reservations on one stream."""
        await self._pool.execute(self._q["release_stream"], app_id, stream, owner)

    async def release(self, owner: str) -> None:
        """Give back every reservation held by ``owner``."""
        await self._pool.execute(self._q["release"], owner)

    async def insert_messages(
        self, app_id: str, messages: Sequence[NewMessage]
    ) -> None:
        """Insert messages in their own transaction."""
        async with self.transaction() as tx:
            await tx.insert_messages(app_id, messages)

    async def notify(self, payload: str) -> None:
        """NOTIFY this schema's channel."""
        await self._pool.execute(self._q["notify"], self.channel, [payload])

    async def read_job(
        self,
        app_id: str,
        job_id: str,
        with_activities: bool = False,
        include_expired: bool = False,
    ) -> JobRow | None:
        """The live job row (or also an expired one), optionally with its activity rows."""
        query = self._q["read_job_any" if include_expired else "read_job"]
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(query, app_id, job_id)
            if row is None:
                return None
            job = _job(row)
            if with_activities:
                rows = await conn.fetch(self._q["read_activities"], job.pk)
                job.activities = [_activity(r) for r in rows]
            return job

    async def prune(
        self, app_id: str, retention: float, batch: int = 1000
    ) -> tuple[int, int]:
        """Delete up to ``batch`` jobs expired more than ``retention`` seconds ago
        (with their rows), and up to ``batch`` expired early signals; returns
        how many of each went."""
        jobs = await self._pool.execute(self._q["prune_jobs"], app_id, retention, batch)
        signals = await self._pool.execute(self._q["prune_signals"], app_id, batch)
        return int(jobs.split()[-1]), int(signals.split()[-1])

    async def scrub(self, app_id: str, job_id: str) -> bool:
        """Delete a job and its activity rows."""
        status = await self._pool.execute(self._q["scrub_job"], app_id, job_id)
        return bool(status != "DELETE 0")

    async def get_plan(self, app_id: str, version: str) -> dict[str, Any] | None:
        """The stored plan document of an app version."""
        doc = await self._pool.fetchval(self._q["get_version"], app_id, version)
        return doc if isinstance(doc, dict) else None

    async def insert_version(
        self, app_id: str, version: str, plan: dict[str, Any]
    ) -> bool:
        """Store a plan document; ``False`` if the version already exists."""
        inserted = await self._pool.fetchval(
            self._q["insert_version"], app_id, version, plan
        )
        return inserted is not None

    async def active_version(self, app_id: str) -> str | None:
        """The app's active version, if any."""
        value = await self._pool.fetchval(self._q["active_version"], app_id)
        return None if value is None else str(value)

    async def activate(self, app_id: str, version: str) -> None:
        """Mark ``version`` active for ``app_id``."""
        await self._pool.execute(self._q["activate"], app_id, version)

    # -- read-only listings (CLI, tooling) ---------------------------------------
    async def list_apps(self) -> list[dict[str, Any]]:
        """Every deployed version: ``app_id, version, deployed_at, active``."""
        return [dict(r) for r in await self._pool.fetch(self._q["list_apps"])]

    async def list_jobs(
        self, app_id: str | None, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Newest jobs first; ``status`` is ``running``, ``done``, ``error`` or None."""
        rows = await self._pool.fetch(self._q["list_jobs"], app_id, status, limit)
        return [dict(r) for r in rows]

    async def job_apps(self, job_id: str) -> list[str]:
        """The apps that have a job with this id (live or expired)."""
        rows = await self._pool.fetch(self._q["job_apps"], job_id)
        return [str(r["app_id"]) for r in rows]

    async def job_summary(self, app_id: str, job_id: str) -> dict[str, Any] | None:
        """The job row's columns without its data (timestamps, parent, semaphore)."""
        row = await self._pool.fetchrow(self._q["job_summary"], app_id, job_id)
        return None if row is None else dict(row)

    async def child_jobs(self, app_id: str, job_id: str) -> list[dict[str, Any]]:
        """Jobs whose ``parent_job_id`` is ``job_id``, oldest first."""
        rows = await self._pool.fetch(self._q["child_jobs"], app_id, job_id)
        return [dict(r) for r in rows]

    # -- escalations (spec §6.12) ---------------------------------------------
    async def list_escalations(
        self, app_id: str, status: str | None, role: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Escalation rows, most urgent first."""
        rows = await self._pool.fetch(
            self._q["escalation_list"], app_id, status, role, limit
        )
        return [dict(r) for r in rows]

    async def get_escalation(
        self, app_id: str, escalation_id: str
    ) -> dict[str, Any] | None:
        """One escalation row by id."""
        row = await self._pool.fetchrow(
            self._q["escalation_get"], app_id, escalation_id
        )
        return None if row is None else dict(row)

    async def escalation_by_key(
        self, app_id: str, signal_key: str
    ) -> dict[str, Any] | None:
        """The newest escalation row for a signal key (usually the job id)."""
        row = await self._pool.fetchrow(
            self._q["escalation_by_key"], app_id, signal_key
        )
        return None if row is None else dict(row)

    async def claim_escalation(
        self, app_id: str, escalation_id: str, assignee: str, seconds: float
    ) -> bool:
        """Assign a pending row to ``assignee`` for ``seconds`` (if free or expired)."""
        row = await self._pool.fetchval(
            self._q["escalation_claim"], app_id, escalation_id, assignee, seconds
        )
        return row is not None

    async def release_escalation(self, app_id: str, escalation_id: str) -> bool:
        """Unassign a pending row."""
        row = await self._pool.fetchval(
            self._q["escalation_release"], app_id, escalation_id
        )
        return row is not None

    async def xact_commits(self) -> int:
        """``pg_stat_database.xact_commit`` for this database (benchmarks)."""
        value = await self._pool.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(value)


async def server_version(dsn: str, timeout: float) -> str:
    """Connect once and return the server's version: a liveness probe."""
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except ValueError as exc:
        if isinstance(exc, asyncpg.InterfaceError):
            raise
        raise _malformed(dsn) from None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def migrate_database(dsn: str, schema: str = "hotmesh") -> list[int]:
    """Connect once and apply missing migrations; returns the versions applied now."""
    quote_schema(schema)
    try:
        conn = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise errors.StoreUnavailableError(
            f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {exc}"
        ) from None
    except ValueError:
        raise _malformed(dsn) from None
    try:
        return await migrate(conn, schema)
    finally:
        await conn.close()


async def schema_summary(
    dsn: str, schema: str, timeout: float
) -> dict[str, Any] | None:
    """Schema version and row counts, or None when the schema was never migrated.

    Reads only: a status probe must not create the schema.
    """
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except ValueError as exc:
        if isinstance(exc, asyncpg.InterfaceError):
            raise
        raise _malformed(dsn) from None
    try:
        name = quote_schema(schema)
        if await conn.fetchval("SELECT to_regclass($1)", f"{name}.migrations") is None:
            return None
        row = await conn.fetchrow(queries(name)["schema_summary"])
        return None if row is None else dict(row)
    finally:
        await conn.close()


async def create_database(server_dsn: str, name: str) -> None:
    """``CREATE DATABASE name`` on the server of ``server_dsn`` (test fixtures)."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{validate_name(name, "database name")}"')
    finally:
        await conn.close()


async def drop_database(server_dsn: str, name: str) -> None:
    """Drop a database, disconnecting its sessions (test fixtures)."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(
            f'DROP DATABASE IF EXISTS "{validate_name(name, "database name")}" WITH (FORCE)'
        )
    finally:
        await conn.close()
