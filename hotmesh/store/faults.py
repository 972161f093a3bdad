"""Driver errors become hotmesh errors here, at the store's edge: the one
translation point between asyncpg and the rest of hotmesh.

Every public verb of the store (``PostgresStore``, ``StoreTx``, the schedule
rows) is wrapped by :func:`mapped_verbs`, and a transaction by :func:`mapped`,
so a caller never sees an asyncpg or ``OSError`` exception for these causes:

- the connection is lost, refused or shut down: ``StoreUnavailableError``
- a deadlock or a serialization failure: ``TransactionConflictError``
- a value the database cannot store: ``InvalidDataError``

each raised ``from`` the driver's exception. Anything else (a bug, a missing
table) passes through unchanged. The consumers retry only the transient ones
(``errors.RETRYABLE``); every other error fails at once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from hotmesh import errors
from hotmesh.config import mask_dsn

T = TypeVar("T")

#: errors that mean the connection (not the statement) failed: a network cut,
#: a closed connection, a server shutting down or starting up, or a protocol
#: left mid-operation by one of those (asyncpg's InternalClientError)
CONNECTION_LOST = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
#: the database is away: its connection is lost, it refuses more connections,
#: or it did not answer in time (a statement timeout)
UNAVAILABLE = (
    *CONNECTION_LOST,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,
)
#: the transaction lost a race; running it again may succeed
CONFLICT = (
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.LockNotAvailableError,
)
#: a value the database refuses (a NUL in jsonb, a key too long for an index)
REFUSED = (asyncpg.DataError, asyncpg.ProgramLimitExceededError)


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or the driver error a ``StoreUnavailableError`` was
    translated from) means the connection itself is gone."""
    if isinstance(exc, errors.StoreUnavailableError):
        exc = exc.__cause__ or exc
    return isinstance(exc, CONNECTION_LOST)


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return (text or type(exc).__name__)[:300]


def translate(exc: BaseException) -> errors.StoreError | None:
    """The hotmesh error for a driver error; ``None`` for anything else."""
    if isinstance(exc, errors.HotMeshError):
        return None
    if isinstance(exc, CONFLICT):
        return errors.TransactionConflictError(
            f"the transaction conflicted with another: {_first_line(exc)}"
        )
    if isinstance(exc, UNAVAILABLE):
        return errors.StoreUnavailableError(
            f"the database is unavailable ({type(exc).__name__}: {_first_line(exc)})"
        )
    if isinstance(exc, REFUSED):
        return errors.InvalidDataError(
            f"the database refused a value: {_first_line(exc)}"
        )
    return None


#: SQLSTATE classes of failures that may pass: connection exceptions, operator
#: intervention (a restart), insufficient resources, transaction rollbacks
#: (serialization failures, deadlocks)
_TRANSIENT_CLASSES = frozenset({"08", "57", "53", "40"})


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` may succeed on a retry (the database away or busy), as
    opposed to a step that will fail the same way every time."""
    lost = (*CONNECTION_LOST, TimeoutError, errors.StoreUnavailableError)
    if isinstance(exc, lost) or isinstance(exc, asyncpg.PostgresConnectionError):
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and state[:2] in _TRANSIENT_CLASSES


class _Mapped:
    """The context manager of :func:`mapped`: a class, not a generator, as it
    wraps every statement of every step (a generator's setup costs more)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if exc is None or not isinstance(exc, Exception):
            return None
        error = translate(exc)
        if error is None:
            return None
        raise error from exc


_MAPPED = _Mapped()


def mapped() -> _Mapped:
    """Translate driver errors raised inside the block (see :func:`translate`)."""
    return _MAPPED


def _wrap(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(fn)
    async def verb(*args: Any, **kwargs: Any) -> T:
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            raise error from exc

    return verb


C = TypeVar("C", bound=type)


def mapped_verbs(cls: C) -> C:
    """Class decorator: every public coroutine method (inherited ones too)
    translates driver errors on its way out."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        fn = inspect.getattr_static(cls, name)
        if inspect.iscoroutinefunction(fn):
            setattr(cls, name, _wrap(fn))
    return cls


def malformed(dsn: str) -> errors.StoreUnavailableError:
    """asyncpg's DSN parser echoes pieces of a malformed DSN (a password with an
    unescaped '/' is read as a port number): say what is wrong without them."""
    return errors.StoreUnavailableError(
        f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: the DSN is malformed "
        "(percent-encode '/', '?', '#' and '@' in the user name and password)"
    )
