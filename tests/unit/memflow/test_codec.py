"""The payload codec's envelopes: what is sealed in an activation's answer,
and what stays plain for the engine."""

from __future__ import annotations

import json
import zlib

import pytest

from hotmesh import errors
from hotmesh.memflow import codec


class Zlib:
    async def encode(self, data: bytes) -> bytes:
        return zlib.compress(data)

    async def decode(self, data: bytes) -> bytes:
        return zlib.decompress(data)


Z = Zlib()


async def test_a_payload_round_trips_through_its_envelope() -> None:
    value = {"a": [1, "two", None], "b": "ü"}
    sealed = await codec.seal(Z, value)
    assert codec.sealed(sealed) and "two" not in json.dumps(sealed)
    assert await codec.unseal(Z, sealed) == value
    assert await codec.seal(None, value) is value  # no codec: stored as it is


async def test_a_tree_is_opened_wherever_its_envelopes_are() -> None:
    tree = {"x": [await codec.seal(Z, {"deep": await codec.seal(Z, 5)})], "y": 1}
    assert await codec.unseal_tree(Z, tree) == {"x": [{"deep": 5}], "y": 1}


async def test_an_envelope_without_its_codec_is_a_clear_error() -> None:
    sealed = await codec.seal(Z, "secret")
    with pytest.raises(errors.PayloadCodecError, match="codec="):
        await codec.unseal_tree(None, {"a": sealed})
    with pytest.raises(errors.PayloadCodecError, match="failed to decode"):
        await codec.unseal(Z, {codec.KEY: "bm90IHpsaWI="})


async def test_an_answer_seals_payloads_and_leaves_what_the_engine_reads() -> None:
    answer = {
        "code": 589,
        "data": {
            "items": [
                {
                    "type": "proxy",
                    "kind": "proxy",
                    "topic": "q-activity",
                    "input": {"name": "charge", "args": ["card-1"], "retry": {"a": 1}},
                },
                {
                    "type": "proxy",
                    "kind": "signal",
                    "input": {"args": ["wf:key", "payload", "wf"]},
                },
                {
                    "type": "child",
                    "kind": "child",
                    "child": {
                        "arguments": ["x"],
                        "workflowId": "c1",
                        "search": {"_s": 1},
                    },
                },
                {
                    "type": "sleep",
                    "duration": 5,
                    "record": {"-sleep-4-": {"duration": 5}},
                },
            ],
            "markers": {"-now-1-": {"data": 12.5}, "-patch:p-": True},
            "search": {"_field": "v"},
        },
    }
    out = await codec.seal_answer(Z, answer)
    text = json.dumps(out)
    for plain in ('"card-1"', '"payload"', '["x"]', '"v"', "12.5"):
        assert plain not in text
    proxy, signal, child, sleep = out["data"]["items"]
    assert proxy["topic"] == "q-activity" and proxy["input"]["retry"] == {"a": 1}
    assert signal["input"]["args"][0] == "wf:key"  # the hook key the engine matches
    assert child["child"]["workflowId"] == "c1"
    assert sleep == answer["data"]["items"][3]
    assert out["data"]["markers"]["-patch:p-"] is True
    assert await codec.unseal_tree(Z, out) == answer
