"""The store's one translation point: driver errors become hotmesh errors,
``from`` the driver's exception; anything else passes through."""

from __future__ import annotations

import asyncpg
import pytest

from hotmesh import errors
from hotmesh.store.faults import connection_lost, mapped, mapped_verbs, translate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ConnectionResetError("reset by peer"), errors.StoreUnavailableError),
        (asyncpg.ConnectionDoesNotExistError("closed"), errors.StoreUnavailableError),
        (asyncpg.InterfaceError("connection is closed"), errors.StoreUnavailableError),
        (asyncpg.AdminShutdownError("terminating"), errors.StoreUnavailableError),
        (
            asyncpg.InternalClientError("another operation is in progress"),
            errors.StoreUnavailableError,
        ),
        (asyncpg.CannotConnectNowError("starting up"), errors.StoreUnavailableError),
        (asyncpg.TooManyConnectionsError("too many"), errors.StoreUnavailableError),
        (asyncpg.QueryCanceledError("statement timeout"), errors.StoreUnavailableError),
        (asyncpg.DeadlockDetectedError("deadlock"), errors.TransactionConflictError),
        (
            asyncpg.LockNotAvailableError("lock timeout"),
            errors.TransactionConflictError,
        ),
        (asyncpg.SerializationError("could not"), errors.TransactionConflictError),
        (asyncpg.DataError("NUL in jsonb"), errors.InvalidDataError),
    ],
)
def test_driver_errors_are_translated_from_the_driver_error(
    raw: Exception, expected: type[errors.StoreError]
) -> None:
    with pytest.raises(expected) as info:
        with mapped():
            raise raw
    assert info.value.__cause__ is raw
    assert type(info.value) is expected


def test_only_unavailability_and_conflicts_are_retryable() -> None:
    assert errors.RETRYABLE == (
        errors.StoreUnavailableError,
        errors.TransactionConflictError,
    )
    assert not isinstance(translate(asyncpg.DataError("x")), errors.RETRYABLE)
    # a stale cached state is handled by the engine itself, not by a retry
    assert not issubclass(errors.StaleStateError, errors.RETRYABLE)


@pytest.mark.parametrize(
    "raw",
    [
        KeyError("a bug"),
        asyncpg.UndefinedTableError("no such table"),
        errors.DuplicateJobError("j1"),
    ],
)
def test_other_errors_pass_through_unchanged(raw: Exception) -> None:
    assert translate(raw) is None
    with pytest.raises(type(raw)) as info:
        with mapped():
            raise raw
    assert info.value is raw


async def test_every_public_coroutine_of_a_decorated_class_is_mapped() -> None:
    class Base:
        async def inherited(self) -> None:
            raise OSError("network cut")

    @mapped_verbs
    class Verbs(Base):
        async def verb(self) -> None:
            raise asyncpg.ConnectionDoesNotExistError("gone")

        async def _private(self) -> None:
            raise OSError("left alone")

        def plain(self) -> str:
            return "untouched"

    verbs = Verbs()
    with pytest.raises(errors.StoreUnavailableError) as info:
        await verbs.verb()
    assert isinstance(info.value.__cause__, asyncpg.ConnectionDoesNotExistError)
    with pytest.raises(errors.StoreUnavailableError):
        await verbs.inherited()
    with pytest.raises(OSError, match="left alone"):
        await verbs._private()
    assert verbs.plain() == "untouched"
    assert Verbs.verb.__name__ == "verb" and Verbs.verb.__doc__ is None


def test_the_keeper_drops_a_connection_only_when_it_is_lost() -> None:
    cut = asyncpg.ConnectionDoesNotExistError("closed")
    wrapped = errors.StoreUnavailableError("away")
    wrapped.__cause__ = cut
    assert connection_lost(cut) and connection_lost(wrapped)
    timed_out = errors.StoreUnavailableError("slow")
    timed_out.__cause__ = asyncpg.QueryCanceledError("statement timeout")
    # a statement timeout leaves the connection usable: not lost
    assert not connection_lost(timed_out)
    assert not connection_lost(KeyError("a bug"))
