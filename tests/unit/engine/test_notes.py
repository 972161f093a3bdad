"""The NOTIFY notes: typed on both ends, and a wire form that stays as it was
(processes of older and newer versions share one channel)."""

from __future__ import annotations

import json

import pytest

from hotmesh.engine import notes

NOTES: list[tuple[notes.Note, str]] = [
    (notes.Messages("shop", "engine", 0.0, "shop:ab12"), "m|shop|engine|0.0|shop:ab12"),
    (notes.Messages("shop", "w:pay", 2.5, "shop:ab12"), "m|shop|w:pay|2.5|shop:ab12"),
    (notes.Done("shop", "order-1", "order.done", "o"), "d|shop|order-1|order.done|o"),
    (notes.Done("shop", "order-1", "", "o"), "d|shop|order-1||o"),
    (
        notes.Emitted("shop", "order-1", "order.tick", "o"),
        "e|shop|order-1|order.tick|o",
    ),
    (notes.Activated("shop", "2"), "a|shop|2"),
    (notes.LimitsChanged("shop", "shop:ab12"), "l|shop|shop:ab12"),
    (
        notes.UserMessage("shop", "news", '{"a":"x|y","b":[1]}', "shop:ab12"),
        'u|shop|news|{"a":"x|y","b":[1]}|shop:ab12',
    ),
]


@pytest.mark.parametrize(("note", "wire"), NOTES)
def test_round_trip_and_wire_form(note: notes.Note, wire: str) -> None:
    assert notes.encode(note) == wire
    assert notes.decode(wire) == note
    assert notes.decode(notes.encode(note)) == note


def test_a_user_message_body_with_separators_survives() -> None:
    body = json.dumps({"text": "a|b||c", "n": "|"})
    note = notes.UserMessage("app", "t", body, "app:1")
    decoded = notes.decode(notes.encode(note))
    assert isinstance(decoded, notes.UserMessage)
    assert json.loads(decoded.body) == {"text": "a|b||c", "n": "|"}


def test_an_integer_delay_reads_back_as_seconds() -> None:
    assert notes.decode("m|app|engine|0|me") == notes.Messages("app", "engine", 0, "me")
    assert notes.decode("m|app|engine||me") == notes.Messages("app", "engine", 0, "me")


@pytest.mark.parametrize(
    "wire",
    [
        "",
        "x|app|a|b|c",  # a kind from a newer version
        "m|app|engine|soon|me",  # a delay that is not a number
        "d|app|only-three|parts",
        "a|app",
        "u|app|topic-without-origin",
    ],
)
def test_unknown_or_malformed_notes_are_ignored(wire: str) -> None:
    assert notes.decode(wire) is None
