"""`TypedConverter` on its own: what becomes a msgpack value, and what comes back from a hint."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, NewType, TypeVar

import pytest

from aion_actors import DefaultConverter, PayloadConverter, PayloadError, TypedConverter
from aion_actors.core import ConfigError, check_payload, packb, unpackb
from aion_actors.core import payloads as conv

T = TypeVar("T")
Sku = NewType("Sku", str)


class Size(enum.IntEnum):
    S = 1
    L = 3


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass
class Shape:
    name: str
    corners: list[Point]
    box: tuple[Point, Point]
    size: Size = Size.S
    labels: set[str] = field(default_factory=set)
    parent: Shape | None = None
    when: dt.datetime | None = None
    key: uuid.UUID | None = None


@dataclass
class Box(Generic[T]):
    item: T
    skus: list[Sku]


def through_msgpack(value: Any, hint: Any) -> Any:
    """What a receiver annotated `hint` gets for `value`, via the bytes history stores."""
    converter = TypedConverter()
    payload = converter.to_payload(value)
    check_payload(payload)  # a msgpack value, nothing else
    return converter.from_payload(unpackb(packb(payload)), hint)


def test_the_protocol_is_two_methods_and_the_default_changes_nothing() -> None:
    default = DefaultConverter()
    assert isinstance(default, PayloadConverter) and isinstance(TypedConverter(), PayloadConverter)
    value = {"a": (1, 2)}
    assert default.to_payload(value) is value and default.from_payload(value, dict) is value
    assert conv.active(default) is None and conv.active(None) is None
    assert conv.active(TypedConverter()) is not None


def test_dataclasses_round_trip_with_nested_tuples_enums_sets_and_optionals() -> None:
    inner = Shape("inner", [Point(0, 0)], (Point(0, 0), Point(1, 1)))
    shape = Shape(
        "outer",
        [Point(0, 0), Point(2, 0)],
        (Point(0, 0), Point(2, 2)),
        size=Size.L,
        labels={"b", "a"},
        parent=inner,
        when=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        key=uuid.UUID(int=7),
    )
    payload = TypedConverter().to_payload(shape)
    assert payload["box"] == [{"x": 0, "y": 0}, {"x": 2, "y": 2}]
    assert payload["labels"] == ["a", "b"] and payload["size"] == 3  # sorted; the enum's value
    assert through_msgpack(shape, Shape) == shape


def test_tuples_come_back_when_annotated_as_tuples() -> None:
    assert through_msgpack((1, 2), tuple[int, int]) == (1, 2)
    assert through_msgpack((1, 2, 3), tuple[int, ...]) == (1, 2, 3)
    assert through_msgpack((1, "a"), tuple) == (1, "a")
    assert through_msgpack([(1, 2)], list[tuple[int, int]]) == [(1, 2)]
    assert through_msgpack({"k": (1, 2)}, dict[str, tuple[int, int]]) == {"k": (1, 2)}
    assert through_msgpack((1, 2), list[int]) == [1, 2]
    assert through_msgpack((1, 2), Any) == [1, 2]  # no hint: the plain payload
    with pytest.raises(ValueError, match="expected 2 items"):
        through_msgpack((1, 2, 3), tuple[int, int])


def test_unions_newtypes_annotated_and_generic_dataclasses_decode_by_shape() -> None:
    assert through_msgpack(Point(1, 2), Point | None) == Point(1, 2)
    assert through_msgpack(None, Point | None) is None
    assert through_msgpack(5, int | Point) == 5
    assert through_msgpack(Point(1, 2), int | Point) == Point(1, 2)
    assert through_msgpack(Size.L, Size) is Size.L
    assert through_msgpack(3, float) == 3.0 and isinstance(through_msgpack(3, float), float)
    assert through_msgpack(Point(1, 2), Annotated[Point, "meta"]) == Point(1, 2)
    box = through_msgpack(Box(Point(1, 1), [Sku("x")]), Box[Point])
    assert isinstance(box, Box) and box.skus == ["x"]
    assert through_msgpack({"a", "b"}, frozenset[str]) == frozenset({"a", "b"})


def test_missing_fields_take_defaults_unknown_keys_are_ignored_required_ones_are_not() -> None:
    converter = TypedConverter()
    shape = converter.from_payload(
        {"name": "s", "corners": [], "box": [{"x": 0, "y": 0}] * 2, "gone": 1}, Shape
    )
    assert shape.size is Size.S and shape.labels == set() and shape.parent is None
    with pytest.raises(TypeError, match="corners"):
        converter.from_payload({"name": "s"}, Shape)
    with pytest.raises(TypeError, match="expected a map of Point's fields, found list"):
        converter.from_payload([1, 2], Point)


def test_a_decoding_failure_names_the_path_the_parameter_and_the_type() -> None:
    def take(shape: Shape, *rest: Point) -> None: ...

    hints = conv.hints_of(take, "activity 'take'")
    assert hints.param(0) == ("shape", Shape) and hints.param(3) == ("*rest", Point)
    with pytest.raises(PayloadError) as failed:
        conv.decode_args(TypedConverter(), hints, [{"name": "s"}], "activity 'take'", "args")
    assert str(failed.value).startswith(
        "args[0] (parameter 'shape' of activity 'take'): cannot be decoded as Shape (TypeError:"
    )


def test_unresolvable_annotations_are_a_config_error_naming_the_definition() -> None:
    def broken(order: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigError, match=r"type annotations of workflow 'broken'.*NameError"):
        conv.hints_of(broken, "workflow 'broken'")


def test_only_the_annotations_a_value_is_decoded_for_need_to_resolve() -> None:
    async def wf(
        ctx: OnlyWhileTypeChecking,  # type: ignore[name-defined]  # noqa: F821
        shape: Shape,
        *more: Point,
    ) -> tuple[int, int]:
        return (0, 0)

    hints = conv.hints_of(wf, "workflow 'wf'", skip=1)
    assert hints.param(0) == ("shape", Shape) and hints.param(1) == ("*more", Point)
    assert hints.returns == tuple[int, int]


def test_a_failing_converter_is_a_payload_error_naming_the_value() -> None:
    class Refuses(TypedConverter):
        def to_payload(self, value: Any) -> Any:
            raise RuntimeError("no")

    with pytest.raises(PayloadError, match=r"^payload: the payload converter Refuses failed"):
        conv.encode(Refuses(), 1, "payload")


class FailsOnBoom(TypedConverter):
    def to_payload(self, value: Any) -> Any:
        if value == "boom":
            raise KeyError("nope")
        return super().to_payload(value)


class MakesObjects:
    """Breaks its contract: turns "bad" into an object, which is no msgpack value."""

    def to_payload(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.to_payload(item) for item in value]
        return object() if value == "bad" else value

    def from_payload(self, value: Any, type_hint: Any) -> Any:
        return value


class MakesBytes:
    def to_payload(self, value: Any) -> Any:
        return b"\x93\x01\x02"

    def from_payload(self, value: Any, type_hint: Any) -> Any:
        return value


def test_a_converter_that_raises_is_named_with_the_innermost_value_it_fails_on() -> None:
    with pytest.raises(PayloadError) as refused:
        conv.encode(FailsOnBoom(), [1, {"a": ["ok", "boom"]}], "input")
    assert str(refused.value) == (
        'input[1]["a"][1]: the payload converter FailsOnBoom failed on this str '
        "(KeyError: 'nope'); fix its to_payload, or pass a value it takes"
    )
    itself: list[Any] = []
    itself.append(itself)
    with pytest.raises(PayloadError, match=r"levels deep \(does the value hold itself\?\)"):
        conv.encode(TypedConverter(), [itself], "input")


def test_a_converter_that_returns_no_msgpack_value_is_named_not_the_caller() -> None:
    with pytest.raises(PayloadError) as refused:
        conv.encode(MakesObjects(), ["fine", "bad"], "input")
    message = str(refused.value)
    assert message.startswith("input[1]: object is not serialisable; the payload converter ")
    assert "MakesObjects made it from a list: its to_payload must return msgpack values" in message
    with pytest.raises(PayloadError, match="MakesObjects made it from a str"):
        conv.encode(MakesObjects(), "bad", "result of activity 'act'")
    with pytest.raises(PayloadError, match="MakesBytes made a bytes from the arguments"):
        conv.encode_inputs(MakesBytes(), [("fine",)])
    keyed = (
        r"^x\[0\]\[<object .*>\]: dict key of type object is not serialisable; .*MakesObjects left"
    )
    with pytest.raises(PayloadError, match=keyed):  # (it does not look into dicts)
        conv.encode(MakesObjects(), [{1: "v", object(): "w"}], "x")


def test_a_value_the_converter_leaves_as_it_was_is_the_callers_to_change() -> None:
    shape = Shape("a", [Point(0, 0)], (Point(0, 0), Point(1, 1)))
    shape.name = object()  # type: ignore[assignment]
    with pytest.raises(PayloadError) as refused:
        conv.encode(TypedConverter(), [shape], "input")
    message = str(refused.value)
    assert message.startswith('input[0]["name"]: object is not serialisable; ')
    assert "TypedConverter left it as it was (a type it does not know)" in message
    assert conv.encode(TypedConverter(), ["fine"], "input") == ["fine"]  # works: no search
