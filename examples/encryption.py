"""Payloads encrypted at rest: a MemFlow payload codec with AES-GCM.

    pip install 'hotmesh[encryption]'      # the `cryptography` package
    HOTMESH_KEY=<64 hex digits> python examples/encryption.py

Uses DATABASE_URL / HOTMESH_DSN when set, otherwise a private embedded
PostgreSQL. Every payload MemFlow stores for this workflow (its arguments,
the activity's arguments and result, the signal, the search field and the
result) is encrypted with the key before it reaches PostgreSQL; what the
engine itself reads (ids, names, task queues, timers) stays plain. Workers
and clients given the same codec read the payloads; others see envelopes.
The CLI decodes with ``--codec examples.encryption:codec`` (the key from
``HOTMESH_KEY``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hotmesh import MemFlow
from hotmesh.config import resolve_dsn

#: the nonce AES-GCM needs per message (96 bits, never reused with a key)
NONCE = 12


class AesGcmCodec:
    """``codec=``: ``encode``/``decode`` over the stored bytes. A random nonce
    per payload, stored in front of the ciphertext (which carries its tag)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    async def encode(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, data, None)

    async def decode(self, data: bytes) -> bytes:
        return self._aead.decrypt(data[:NONCE], data[NONCE:], None)


def _key() -> bytes:
    given = os.environ.get("HOTMESH_KEY")
    # a demo key when none is given: real keys come from a secret store
    return bytes.fromhex(given) if given else AESGCM.generate_key(bit_length=256)


#: what ``hotmesh ... --codec examples.encryption:codec`` loads
codec = AesGcmCodec(_key())


@dataclass
class Patient:
    name: str
    diagnosis: str


async def summarize(patient: Patient) -> str:
    return f"{patient.name}: {patient.diagnosis}"


async def record_visit(patient: Patient) -> str:
    acts = MemFlow.workflow.proxy_activities(activities={"summarize": summarize})
    summary = await acts.summarize(patient)
    await MemFlow.workflow.search().set("patient", patient.name)
    note = await MemFlow.workflow.wait_for("doctor-note")
    return f"{summary} / {note}"


async def main(dsn: str | None = None, the_codec: Any = None) -> dict[str, Any]:
    conn = {"dsn": dsn or resolve_dsn(None)}
    crypt = the_codec or codec
    config = {"connection": conn, "codec": crypt}
    async with MemFlow.Worker.create(
        {**config, "task_queue": "clinic", "workflow": record_visit}
    ):
        async with MemFlow.Client(config) as client:
            patient = Patient("Ada Lovelace", "analytical fever")
            handle = await client.workflow.start(
                record_visit,
                patient,
                task_queue="clinic",
                workflow_id=f"visit-{uuid.uuid4().hex[:8]}",
            )
            await client.workflow.signal(
                "doctor-note", "rest and tea", workflow_id=handle.workflow_id
            )
            result = await handle.result(timeout=30)
            print("result:", result)
            return {"workflow_id": handle.workflow_id, "result": result}


if __name__ == "__main__":
    asyncio.run(main())
