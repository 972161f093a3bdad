"""Big, exotic and unstorable payloads on a real engine.

- a 10 MB job input and a 1 MB worker output complete and read back intact;
- emoji, right-to-left text, combining marks and other Unicode round-trip;
- NUL (``\\u0000``), which jsonb cannot hold: ``pub``/``signal`` raise
  ``InputValidationError`` naming the field and write nothing; a worker output
  holding one fails its job (error 500); an expression that produces one fails
  its job with ``InvalidDataError`` instead of leaving it stuck.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import asyncpg
import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: big
  version: '1'
  graphs:
    - subscribes: big.go
      expire: 300
      activities:
        t1:
          type: trigger
          job:
            maps:
              input: '{t1.output.data.payload}'
        w1:
          type: worker
          topic: big.work
          input:
            maps:
              size: '{t1.output.data.size}'
              text: '{t1.output.data.text}'
          job:
            maps:
              output: '{w1.output.data}'
      transitions:
        t1:
          - to: w1
    - subscribes: big.parse
      expire: 300
      activities:
        p1:
          type: trigger
          job:
            maps:
              parsed:
                '@pipe':
                  - ['{p1.output.data.json}']
                  - ['{@json.parse}']
    - subscribes: big.wait
      publishes: big.waited
      expire: 300
      activities:
        s1:
          type: trigger
        h1:
          type: hook
          job:
            maps:
              note: '{$self.hook.data.note}'
      transitions:
        s1:
          - to: h1
      hooks:
        big.signal:
          - to: h1
            conditions:
              match:
                - expected: '{s1.output.data.key}'
                  actual: '{$self.hook.data.key}'
"""

UNICODE = {
    "emoji": "🙂👍🏽👩‍👩‍👧‍👦🏳️‍🌈",
    "rtl": "שָׁלוֹם עולם — مرحبا بالعالم",
    "combining": "e\u0301 a\u0308 Z\u0351\u0360\u0362",
    "scripts": "日本語 한국어 Ελληνικά русский हिन्दी",
    "controls": "tab\there\nnew\rline \u2028\u2029 \ufeff bom \u200b zw",
    "astral": "\U0001d54f\U0001f600\U00010348",
    "quotes": "'\"`\\ ; -- /* */ % _",
    "🔑 key": "a key that is itself unicode",
}


async def echo(message: dict[str, Any]) -> dict[str, Any]:
    data = message["data"]
    size = data.get("size")
    if isinstance(size, int):
        return {"data": {"blob": "y" * size}}
    return {"data": {"text": data.get("text")}}


async def _app(mesh: MeshFactory, **engine: Any) -> Any:
    hm = await mesh("big", workers=[{"topic": "big.work", "callback": echo}], **engine)
    await hm.deploy(APP)
    await hm.activate("1")
    return hm


@pytest.mark.timeout(120)
async def test_a_10_mb_input_and_a_1_mb_worker_output_complete(
    mesh: MeshFactory,
) -> None:
    # over the default max_data_bytes (4 MiB): raised on purpose
    hm = await _app(mesh, max_data_bytes=16 << 20)
    payload = {"blob": "x" * (10 * 1024 * 1024), "n": list(range(1000))}
    out = await hm.pubsub(
        "big.go", {"payload": payload, "size": 1024 * 1024}, timeout=60
    )
    state = await hm.get_state("big.go", out["metadata"]["jid"])
    assert state["data"]["input"] == payload
    assert state["data"]["output"] == {"blob": "y" * (1024 * 1024)}
    history = await hm.export(out["metadata"]["jid"])
    assert history["data"]["input"]["blob"] == payload["blob"]


async def test_unicode_round_trips_through_input_worker_and_signal(
    mesh: MeshFactory,
) -> None:
    hm = await _app(mesh)
    out = await hm.pubsub("big.go", {"payload": UNICODE, "text": UNICODE}, timeout=10)
    state = await hm.get_state("big.go", out["metadata"]["jid"])
    assert state["data"]["input"] == UNICODE
    assert state["data"]["output"] == {"text": UNICODE}
    # a signal key and payload in Unicode find their hook and come back unchanged
    key = "ключ-🔑-مفتاح"
    job_id = await hm.pub("big.wait", {"key": key})
    note = UNICODE["emoji"] + UNICODE["rtl"] + UNICODE["combining"]
    # an early signal is kept until the hook registers, so no wait is needed
    resumed = await hm.signal("big.signal", {"key": key, "note": note})
    assert resumed in (None, job_id)
    done = await _wait_done(hm, "big.waited", job_id)
    assert done["data"]["note"] == note


async def _wait_done(hm: Any, topic: str, job_id: str) -> dict[str, Any]:
    done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def finished(_topic: str, output: dict[str, Any]) -> None:
        if not done.done():
            done.set_result(output)

    await hm.sub(f"{topic}.{job_id}", finished)
    if await hm.get_status(job_id) <= 0:
        return dict(await hm.get_state("big.wait", job_id))
    return await asyncio.wait_for(done, 10)


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        ({"payload": "a\x00b"}, "/payload"),
        ({"payload": {"deep": [1, {"x": "\x00"}]}}, "/payload/deep/1/x"),
        ({"payload": {"k\x00ey": 1}}, "/payload/k\\u0000ey"),
        ({"payload": "\ud83d"}, "/payload"),
        ({"payload": {1, 2}}, "/payload"),
        ({"payload": b"bytes"}, "/payload"),
    ],
)
async def test_unstorable_input_is_refused_at_pub_naming_the_field(
    mesh: MeshFactory, pg_dsn: str, data: dict[str, Any], pointer: str
) -> None:
    hm = await _app(mesh)
    with pytest.raises(errors.InputValidationError) as info:
        await hm.pub("big.go", data)
    assert info.value.pointer == pointer
    assert f"invalid at {pointer}" in str(info.value)
    with pytest.raises(errors.InputValidationError):
        await hm.pubsub("big.go", data, timeout=5)
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM hotmesh.jobs") == 0
    finally:
        await conn.close()


async def test_a_nul_in_signal_data_is_refused_naming_the_field(
    mesh: MeshFactory,
) -> None:
    hm = await _app(mesh)
    with pytest.raises(errors.InputValidationError, match=r"invalid at /note"):
        await hm.signal("big.signal", {"key": "k", "note": "\x00"})


async def test_nul_in_a_worker_output_is_an_error_result(mesh: MeshFactory) -> None:
    async def nul(_message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"text": "before\x00after"}}

    hm = await mesh("big", workers=[{"topic": "big.work", "callback": nul}])
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobError) as info:
        await hm.pubsub("big.go", {"text": "x"}, timeout=10)
    assert info.value.code == 500
    assert "/data/text: NUL characters" in info.value.error["message"]
    assert await hm.get_status(info.value.job_id) == 0


@pytest.mark.parametrize("escaped", ['"\\u0000"', '{"a": ["\\u0000"]}', '"\\ud800"'])
async def test_an_expression_producing_nul_fails_the_job_not_the_engine(
    mesh: MeshFactory, escaped: str
) -> None:
    """Regression: ``@json.parse`` of an escaped NUL made data the database
    refuses; the step was retried as if the connection had failed, then left
    to lease expiry and poison. Now the job fails at once with the reason."""
    hm = await _app(mesh)
    with pytest.raises(errors.InvalidDataError, match="database refused a value"):
        await hm.pub("big.parse", {"json": escaped})
    out = await hm.pubsub("big.parse", {"json": '{"fine": "🙂"}'}, timeout=10)
    assert out["data"]["parsed"] == {"fine": "🙂"}


async def test_nesting_up_to_the_limit_is_stored_and_deeper_is_refused(
    mesh: MeshFactory,
) -> None:
    from hotmesh.engine.payload import MAX_DEPTH

    def nested(levels: int) -> Any:
        value: Any = "leaf"
        for _ in range(levels):
            value = [value]
        return value

    hm = await _app(mesh)
    ok = nested(MAX_DEPTH - 1)  # the input dict adds one level
    out = await hm.pubsub("big.go", {"payload": ok}, timeout=10)
    state = await hm.get_state("big.go", out["metadata"]["jid"])
    assert state["data"]["input"] == ok
    with pytest.raises(errors.InputValidationError, match="deeper than"):
        await hm.pub("big.go", {"payload": nested(MAX_DEPTH + 5)})


async def test_an_unstorable_extra_response_is_refused_at_add(
    mesh: MeshFactory,
) -> None:
    hm = await _app(mesh)
    response = {"metadata": {"jid": "j1", "topic": "big.work"}, "data": {"a": "\x00"}}
    with pytest.raises(errors.InputValidationError, match=r"invalid at /data/a"):
        await hm.add(response)


KEYED = """
app:
  id: keyed
  version: '1'
  graphs:
    - subscribes: keyed.go
      expire: 60
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
        w1:
          type: worker
          topic: keyed.work
          input:
            maps:
              key: '{t1.output.data.key}'
        h1:
          type: hook
      transitions:
        t1:
          - to: w1
        w1:
          - to: h1
      hooks:
        keyed.signal:
          - to: h1
            conditions:
              match:
                - expected: '{w1.output.data.key}'
                  actual: '{$self.hook.data.key}'
"""


async def test_values_too_big_for_an_index_fail_cleanly(mesh: MeshFactory) -> None:
    """Regression: a data-derived job id or hook key longer than a btree entry
    can hold raised a raw driver error at ``pub``, and in a later step was
    retried as a connection failure until poisoned. Now: ``InvalidDataError``
    at ``pub``/``signal``, and the job fails at once in a later step."""

    async def echo_key(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"key": message["data"]["key"]}}

    hm = await mesh("keyed", workers=[{"topic": "keyed.work", "callback": echo_key}])
    await hm.deploy(KEYED)
    await hm.activate("1")
    huge = secrets.token_hex(50_000)  # incompressible, unlike "x" * n
    with pytest.raises(errors.InvalidDataError, match="index row"):
        await hm.pub("keyed.go", {"id": huge, "key": "k"})
    # no job waits on the key: not kept, nothing written (issue 20 §5) ...
    with pytest.raises(errors.SignalNotKeptError):
        await hm.signal("keyed.signal", {"key": huge})
    # ... and when asked to keep it, the key cannot be stored
    with pytest.raises(errors.InvalidDataError, match="index row"):
        await hm.signal("keyed.signal", {"key": huge}, keep=True)
    with pytest.raises(errors.JobError) as info:
        await hm.pubsub("keyed.go", {"id": "long-key", "key": huge}, timeout=10)
    assert "index row" in info.value.error["message"]
