"""The PostgreSQL store: the only package that talks to asyncpg.

The public face is small: :class:`PostgresStore` (a pool on one schema, opened
with ``PostgresStore.open``), :class:`StoreTx` (the verbs of one open
transaction), :class:`StepWrite` (what one step writes, and :class:`StepWritten` /
:class:`JobCreated`, what the write learnt), the records the
engine exchanges with it, and the one-shot helpers of the ``db`` commands and
test fixtures. Everything else (codec, error mapping, kept connections, the
LISTEN loop) is an implementation detail of its own module.
"""

from __future__ import annotations

from hotmesh.store.admin import (
    create_database,
    drop_database,
    migrate_database,
    schema_summary,
    server_version,
)
from hotmesh.store.console import ConsoleReads, JobFilter
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.records import (
    ENGINE_STREAM,
    ActivityRow,
    JobRow,
    Message,
    NewMessage,
    job_state,
    worker_stream,
)
from hotmesh.store.tx import JobCreated, StepWrite, StepWritten, StoreTx

__all__ = [
    "ENGINE_STREAM",
    "ActivityRow",
    "ConsoleReads",
    "JobCreated",
    "JobFilter",
    "JobRow",
    "Message",
    "NewMessage",
    "PostgresStore",
    "StepWrite",
    "StepWritten",
    "StoreTx",
    "create_database",
    "drop_database",
    "job_state",
    "migrate_database",
    "schema_summary",
    "server_version",
    "worker_stream",
]
