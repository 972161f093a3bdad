"""The payload codec (issue 23): examples/encryption.py encrypts every payload
MemFlow stores; the raw PostgreSQL rows hold no plaintext of them."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from examples import encryption
from hotmesh import MemFlow, errors
from hotmesh.memflow import codec as payload_codec
from hotmesh.memflow import registry
from tests.acceptance.cli import hotmesh
from tests.integration.memflow.test_payloads import Cart, Line

SECRETS = ("Ada Lovelace", "analytical fever", "rest and tea")
KEY = bytes(range(32))


async def raw_rows(dsn: str) -> str:
    """Every row of every table hotmesh has, as JSON text."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'"
        )
        texts = []
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            rows = await conn.fetch(f"SELECT row_to_json(r)::text AS j FROM {name} r")
            texts.extend(str(r["j"]) for r in rows)
        return "\n".join(texts)
    finally:
        await conn.close()


@pytest.fixture
def clean_registry() -> Any:
    yield
    registry.clear()


async def test_no_plaintext_payload_reaches_postgresql(
    pg_dsn: str, clean_registry: Any, tmp_path: Path
) -> None:
    out = await encryption.main(pg_dsn, encryption.AesGcmCodec(KEY))
    assert out["result"] == "Ada Lovelace: analytical fever / rest and tea"
    dump = await raw_rows(pg_dsn)
    assert out["workflow_id"] in dump  # the rows are there, ids in the clear
    assert payload_codec.KEY in dump  # ... and the payloads in envelopes
    for secret in SECRETS:
        assert secret not in dump, f"{secret!r} is stored in plaintext"
    # without the codec a client cannot read them, and says why
    async with MemFlow.Client({"connection": {"dsn": pg_dsn}}) as client:
        handle = client.workflow.get_handle(
            "clinic", "record_visit", out["workflow_id"]
        )
        with pytest.raises(errors.PayloadCodecError, match="give this client"):
            await handle.result(timeout=10)
    config = {"connection": {"dsn": pg_dsn}, "codec": encryption.AesGcmCodec(KEY)}
    async with MemFlow.Client(config) as client:
        handle = client.workflow.get_handle(
            "clinic", encryption.record_visit, out["workflow_id"]
        )
        assert await handle.search_fields() == {"patient": "Ada Lovelace"}
        assert await asyncio.wait_for(handle.result(), 10) == out["result"]
    # the CLI decodes with the codec it is given (the key from HOTMESH_KEY)
    env = {"HOTMESH_KEY": KEY.hex()}
    args = (
        "memflow",
        "result",
        out["workflow_id"],
        "-q",
        "clinic",
        "-w",
        "record_visit",
    )
    shown = hotmesh(
        *args,
        "--codec",
        "examples.encryption:codec",
        home=tmp_path,
        dsn=pg_dsn,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == out["result"]
    refused = hotmesh(*args, home=tmp_path, dsn=pg_dsn, env=env)
    assert refused.returncode != 0 and "--codec module:attr" in refused.stderr
    status = ("status", out["workflow_id"], "--json")
    opened = hotmesh(
        *status,
        "--codec",
        "examples.encryption:codec",
        home=tmp_path,
        dsn=pg_dsn,
        env=env,
    )
    assert opened.returncode == 0, opened.stderr
    data = json.loads(opened.stdout)["output"]["data"]
    assert data["response"] == out["result"]
    as_stored = hotmesh(*status, home=tmp_path, dsn=pg_dsn, env=env)
    assert as_stored.returncode == 0, as_stored.stderr
    assert (
        payload_codec.KEY in json.loads(as_stored.stdout)["output"]["data"]["response"]
    )
    # a history for the replayer, decoded: the current code replays it
    history = hotmesh(
        "workflow", "history", out["workflow_id"], "--json", "--codec",
        "examples.encryption:codec", home=tmp_path, dsn=pg_dsn, env=env,
    )  # fmt: skip
    assert history.returncode == 0, history.stderr
    recorded = json.loads(history.stdout)
    assert "Ada Lovelace" in json.dumps(recorded["steps"])
    replayed = await MemFlow.Replayer(workflows=[encryption.record_visit]).replay(
        recorded
    )
    assert replayed.steps >= 2
    # another key cannot decode: the codec's failure is named
    other = {"connection": {"dsn": pg_dsn}, "codec": encryption.AesGcmCodec(b"k" * 32)}
    async with MemFlow.Client(other) as client:
        handle = client.workflow.get_handle(
            "clinic", "record_visit", out["workflow_id"]
        )
        with pytest.raises(errors.PayloadCodecError, match="failed to decode"):
            await handle.result(timeout=10)


async def test_without_a_codec_the_same_scan_finds_the_plaintext(
    pg_dsn: str, clean_registry: Any
) -> None:
    """The control: the scan above would see the payloads if they were plain."""
    config = {"connection": {"dsn": pg_dsn}}
    async with MemFlow.Worker.create(
        {**config, "task_queue": "clinic", "workflow": encryption.record_visit}
    ):
        async with MemFlow.Client(config) as client:
            patient = encryption.Patient("Ada Lovelace", "analytical fever")
            handle = await client.workflow.start(
                encryption.record_visit, patient, task_queue="clinic"
            )
            await client.workflow.signal(
                "doctor-note", "rest and tea", workflow_id=handle.workflow_id
            )
            await handle.result(timeout=30)
    dump = await raw_rows(pg_dsn)
    assert all(secret in dump for secret in SECRETS)


class Upper:
    """Not a codec: no encode/decode."""


def test_a_codec_needs_encode_and_decode() -> None:
    with pytest.raises(errors.ConfigError, match="codec must have async encode"):
        MemFlow.Client({"connection": {"dsn": "x"}, "codec": Upper()})


async def test_handlers_children_and_continue_as_new_pass_through_the_codec(
    pg_dsn: str, clean_registry: Any
) -> None:
    crypt = encryption.AesGcmCodec(KEY)
    config = {"connection": {"dsn": pg_dsn}, "codec": crypt}
    async with (
        MemFlow.Worker.create({**config, "task_queue": "cart", "workflow": Cart}),
        MemFlow.Worker.create({**config, "task_queue": "loop", "workflow": looping}),
        MemFlow.Worker.create({**config, "task_queue": "loop", "workflow": child}),
        MemFlow.Client(config) as client,
    ):
        cart = await client.workflow.start(Cart, "secret-owner", task_queue="cart")
        await cart.signal(Cart.add, Line("secret-sku", 2, Decimal("1.50")))
        assert await cart.query(Cart.total) == Decimal("3.00")
        when = datetime(2026, 12, 24)
        assert await cart.execute_update(Cart.close, when) == (1, when)
        assert await cart.result(timeout=30) == [Line("secret-sku", 2, Decimal("1.50"))]
        loop = await client.workflow.start(looping, "secret-word", 0, task_queue="loop")
        assert await loop.result(timeout=30) == "secret-word!!"
        assert (await loop.entity())["round-2"] == "secret-word!!"
    dump = await raw_rows(pg_dsn)
    for secret in ("secret-owner", "secret-sku", "secret-word"):
        assert secret not in dump, f"{secret!r} is stored in plaintext"


async def child(word: str) -> str:
    return word + "!"


async def looping(word: str, rounds: int) -> str:
    await MemFlow.workflow.entity().merge({f"round-{rounds}": word})
    if rounds < 2:
        word = await MemFlow.workflow.exec_child(child, args=[word], task_queue="loop")
        MemFlow.workflow.continue_as_new(word, rounds + 1)
    return word
