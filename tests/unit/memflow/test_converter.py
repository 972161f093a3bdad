"""The default data converter: values to JSON and back into declared types."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal, NamedTuple, TypedDict

import pydantic
import pytest

from hotmesh import errors
from hotmesh.memflow.converter import DEFAULT
from hotmesh.memflow.signatures import decode_args, encode_args, signature


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


@dataclass
class Line:
    sku: str
    qty: int
    price: Decimal


@dataclass
class Order:
    id: uuid.UUID
    lines: list[Line]
    placed: datetime
    color: Color = Color.RED
    tags: set[str] = field(default_factory=set)
    note: str | None = None


class Address(TypedDict):
    street: str
    since: date


class Point(NamedTuple):
    x: int
    y: float


class Customer(pydantic.BaseModel):
    name: str
    joined: datetime
    points: int = 0


def round_trip(value: Any, hint: Any) -> Any:
    encoded = DEFAULT.to_json(value)
    text = json.dumps(encoded)  # plain JSON: nothing else may be left
    return DEFAULT.from_json(json.loads(text), hint)


ORDER = Order(
    id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
    lines=[Line("a-1", 2, Decimal("9.99")), Line("b-2", 1, Decimal("0.10"))],
    placed=datetime(2026, 12, 7, 18, 0, tzinfo=UTC),
    color=Color.BLUE,
    tags={"gift", "rush"},
)


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (ORDER, Order),
        (Color.BLUE, Color),
        (Size.L, Size),
        (datetime(2026, 1, 2, 3, 4, 5, 6), datetime),
        (date(2026, 1, 2), date),
        (time(3, 4, 5), time),
        (Decimal("12345678901234567890.123456789"), Decimal),
        (uuid.uuid4(), uuid.UUID),
        (b"\x00\xffbytes", bytes),
        ({1, 2, 3}, set[int]),
        (frozenset({"a"}), frozenset[str]),
        ((1, "a", 2.5), tuple[int, str, float]),
        ((1, 2, 3), tuple[int, ...]),
        ({"street": "Main", "since": date(2020, 5, 1)}, Address),
        (Point(1, 2.5), Point),
        ({1: Color.RED, 2: Color.BLUE}, dict[int, Color]),
        ([ORDER, None], list[Order | None]),
        (Customer(name="Ada", joined=datetime(2026, 1, 1, tzinfo=UTC)), Customer),
        ("x", Literal["x", "y"]),
        (None, int | None),
    ],
)
def test_a_value_comes_back_as_the_declared_type(value: Any, hint: Any) -> None:
    back = round_trip(value, hint)
    assert back == value
    assert type(back) is type(value)


def test_without_a_declared_type_a_value_comes_back_as_its_json() -> None:
    assert round_trip(ORDER.lines[0], Any) == {"sku": "a-1", "qty": 2, "price": "9.99"}
    assert round_trip({3, 1, 2}, Any) == [1, 2, 3]  # sets are stored sorted


def test_a_set_is_stored_the_same_way_whatever_its_iteration_order() -> None:
    assert DEFAULT.to_json({"b", "a", "c"}) == DEFAULT.to_json({"c", "a", "b"})


def test_an_unconvertible_value_names_where_it_was_and_its_type() -> None:
    class Opaque:
        pass

    @dataclass
    class Holder:
        inner: Any

    with pytest.raises(errors.DataConversionError, match=r"x\.inner\[1\]: type Opaque"):
        DEFAULT.to_json(Holder([1, Opaque()]), "x")
    with pytest.raises(TypeError):  # also a TypeError, as json.dumps would raise
        DEFAULT.to_json(Opaque())
    with pytest.raises(errors.DataConversionError, match="dict key of type tuple"):
        DEFAULT.to_json({(1, 2): "a"})


@pytest.mark.parametrize(
    ("value", "hint", "message"),
    [
        ("5", int, "expected int, got str '5'"),
        (True, int, "expected int, got bool"),
        (1.5, int, "expected int"),
        ("purple", Color, "not one of its values"),
        ("yesterday", datetime, "expected datetime"),
        ("not-a-uuid", uuid.UUID, "expected UUID"),
        ("%%%", bytes, "not base64"),
        ({"sku": "a", "qty": 1, "price": "1", "oops": 1}, Line, r"unknown field\(s\)"),
        ({"sku": "a", "qty": "many", "price": "1"}, Line, r"value\.qty: expected int"),
        ({"street": "Main"}, Address, r"missing key\(s\) \['since'\]"),
        ([1, 2], tuple[int, int, int], "3 items expected"),
        ({"name": "Ada"}, Customer, "expected Customer"),
        ("z", Literal["x", "y"], "expected Literal"),
        ([1], dict[str, int], "expected dict"),
    ],
)
def test_json_that_is_not_the_declared_type_is_refused(
    value: Any, hint: Any, message: str
) -> None:
    with pytest.raises(errors.DataConversionError, match=message):
        DEFAULT.from_json(value, hint)


async def order_workflow(order: Order, count: int, *more: Color) -> str:
    return f"{order.id}:{count}:{more}"


def test_arguments_are_decoded_by_the_parameters_declared_types() -> None:
    sig = signature(order_workflow)
    assert sig.returns is str
    sent = encode_args(DEFAULT, order_workflow, [ORDER, 2, Color.RED, Color.BLUE], "w")
    assert sent[2:] == ["red", "blue"]
    back = decode_args(DEFAULT, order_workflow, json.loads(json.dumps(sent)), "w")
    assert back == [ORDER, 2, Color.RED, Color.BLUE]


def test_a_bad_argument_names_the_parameter_and_the_type() -> None:
    with pytest.raises(
        errors.DataConversionError,
        match=r"workflow 'order_workflow' argument 'count': expected int, got str",
    ):
        decode_args(
            DEFAULT,
            order_workflow,
            [DEFAULT.to_json(ORDER), "two"],
            "workflow 'order_workflow'",
        )
    with pytest.raises(
        errors.DataConversionError,
        match=r"argument 'order'\.placed: type object cannot be converted",
    ):
        bad = Order(ORDER.id, [], object())  # type: ignore[arg-type]
        encode_args(DEFAULT, order_workflow, [bad], "workflow 'order_workflow'")


def test_a_class_method_is_typed_without_self() -> None:
    class Flow:
        async def run(self, line: Line) -> Line:
            return line

    sig = signature(Flow().run)
    assert [name for name, _ in sig.params] == ["line"]


def test_a_function_whose_hints_cannot_be_resolved_takes_values_as_stored() -> None:
    def local(x: Undefined) -> Undefined:  # type: ignore[name-defined]  # noqa: F821
        return x

    assert decode_args(DEFAULT, local, [{"a": 1}], "f") == [{"a": 1}]
