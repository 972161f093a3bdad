"""Driver errors become hotmesh errors here, at the store's edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from hotmesh import errors
from hotmesh.config import mask_dsn

#: errors that mean the connection (not the statement) failed
CONNECTION_LOST = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
)


@contextmanager
def storable() -> Iterator[None]:
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


def malformed(dsn: str) -> errors.StoreUnavailableError:
    """asyncpg's DSN parser echoes pieces of a malformed DSN (a password with an
    unescaped '/' is read as a port number): say what is wrong without them."""
    return errors.StoreUnavailableError(
        f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: the DSN is malformed "
        "(percent-encode '/', '?', '#' and '@' in the user name and password)"
    )
