"""Payload converters: how typed Python values become msgpack payloads, and come back.

Everything a run records is a msgpack value. A converter sits at each
boundary where values enter or leave a run: `to_payload(value)` on the way in
(start inputs, signal payloads, activity arguments and results, child and
continue-as-new arguments, workflow results) and `from_payload(value,
type_hint)` on the way out, against the annotation of whoever receives the
value (a workflow's or activity's parameter, an activity's or workflow's
return type). What it produces is still checked as a msgpack value, so a
converter can never make the engine pickle anything.

- `DefaultConverter` (the default) changes nothing: payloads are msgpack
  values as they are, and a tuple comes back as a list.
- `TypedConverter` turns dataclasses, pydantic models (when pydantic is
  installed), enums, tuples and sets into msgpack values, and rebuilds them
  from the receiver's annotations: `def f(order: Order) -> tuple[int, str]`
  gets an `Order` and returns a tuple to its caller.

A converter of your own implements `PayloadConverter`; worker processes
rebuild it by import path, so define it at module level (see
`aion_actors.core.payloads.import_path`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import functools
import sys
import types
import typing
import uuid
from collections import abc
from collections.abc import Callable
from typing import Any, Final, Protocol, runtime_checkable

_PLAIN: Final = frozenset({str, int, float, bool, bytes, type(None), _dt.datetime, uuid.UUID})
_UNIONS: Final = (typing.Union, types.UnionType)


@runtime_checkable
class PayloadConverter(Protocol):
    """Turns values into msgpack values and back; must be deterministic (replay relies on it)."""

    def to_payload(self, value: Any) -> Any:
        """A msgpack value (None, bool, int, float, str, bytes, list, dict, datetime, UUID)."""
        ...

    def from_payload(self, value: Any, type_hint: Any) -> Any:
        """`value` (a decoded payload) as `type_hint` asks; `type_hint` may be None (unknown)."""
        ...


class DefaultConverter:
    """Payloads are msgpack values as they are; a tuple comes back as a list."""

    def to_payload(self, value: Any) -> Any:
        return value

    def from_payload(self, value: Any, type_hint: Any) -> Any:
        return value

    def __repr__(self) -> str:
        return "DefaultConverter()"


class TypedConverter:
    """Dataclasses, pydantic models, enums, tuples and sets, rebuilt from annotations.

    On the way in: a dataclass becomes a map of its fields, a pydantic model
    its `model_dump(mode="json")`, an enum member its value, a tuple or a set
    a list (a set sorted when its items sort), recursively. On the way out,
    the receiver's annotation decides: `Order` (a dataclass or model),
    `tuple[int, str]`, `list[Order]`, `dict[str, Order]`, `Order | None`,
    `Color` (an enum), `set[str]` ... are rebuilt; an unannotated or `Any`
    receiver gets the plain payload.

    To carry a type of your own, subclass it and handle that type in
    `to_payload` / `from_payload` before deferring to `super()`: nested
    values come back through your methods too.
    """

    def to_payload(self, value: Any) -> Any:
        return _encode(value, self.to_payload)

    def from_payload(self, value: Any, type_hint: Any) -> Any:
        return _decode(value, type_hint, self.from_payload)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _encode(value: Any, encode: Callable[[Any], Any]) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list or kind is tuple:
        return [encode(item) for item in value]
    if kind is dict:
        return {encode(key): encode(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if (model := _model_base()) is not None and isinstance(value, model):
        return encode(value.model_dump(mode="json"))
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, (set, frozenset)):
        items = [encode(item) for item in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (list, tuple)):  # subclasses, named tuples among them
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {encode(key): encode(item) for key, item in value.items()}
    return value  # not ours to convert: the payload check names it if it is not msgpack


def _decode(value: Any, hint: Any, decode: Callable[[Any, Any], Any]) -> Any:
    if hint is None or hint is Any or hint is object:
        return value
    origin = typing.get_origin(hint)
    if origin is None:
        return _decode_class(value, hint, decode)
    args = typing.get_args(hint)
    if origin in _UNIONS:
        return _decode_union(value, args, decode)
    if origin is typing.Annotated:
        return decode(value, args[0])
    if origin is typing.Literal or value is None:
        return value
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(item, args[0]) for item in value)
        if len(args) == len(value):
            return tuple(decode(item, arg) for item, arg in zip(value, args, strict=True))
        raise ValueError(f"expected {len(args)} items for {_name(hint)}, found {len(value)}")
    if isinstance(value, list) and _is_sub(origin, (list, set, frozenset, abc.Sequence)):
        items = [decode(item, args[0] if args else None) for item in value]
        return origin(items) if origin in (set, frozenset) else items
    if isinstance(value, dict) and _is_sub(origin, (dict, abc.Mapping)):
        key_hint, item_hint = args if len(args) == 2 else (None, None)
        return {decode(k, key_hint): decode(v, item_hint) for k, v in value.items()}
    if isinstance(origin, type) and dataclasses.is_dataclass(origin):  # a generic dataclass
        return _decode_class(value, origin, decode)
    return value


def _decode_class(value: Any, hint: Any, decode: Callable[[Any, Any], Any]) -> Any:
    if not isinstance(hint, type):
        supertype = getattr(hint, "__supertype__", None)  # typing.NewType
        return value if supertype is None else decode(value, supertype)
    if value is None or hint in _PLAIN:
        return float(value) if hint is float and type(value) is int else value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise TypeError(f"expected a map of {hint.__name__}'s fields, found {_kind(value)}")
        hints = _field_hints(hint)
        known = {
            f.name: decode(value[f.name], hints.get(f.name))
            for f in dataclasses.fields(hint)
            if f.init and f.name in value
        }
        return hint(**known)
    if (model := _model_base()) is not None and issubclass(hint, model):
        return hint.model_validate(value)  # type: ignore[attr-defined]
    if issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(value, list) and hint in (tuple, set, frozenset):
        return hint(value)
    return value


def _decode_union(value: Any, arms: tuple[Any, ...], decode: Callable[[Any, Any], Any]) -> Any:
    if value is None and type(None) in arms:
        return None
    first: Exception | None = None
    for arm in arms:
        if arm is type(None) or not _fits(value, arm):
            continue
        try:
            return decode(value, arm)
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first
    return value


def _fits(value: Any, hint: Any) -> bool:
    """Whether `value`'s shape could decode as `hint` (which arm of a union to try)."""
    target = typing.get_origin(hint) or hint
    if target is typing.Annotated:
        return _fits(value, typing.get_args(hint)[0])
    if not isinstance(target, type):
        return target in _UNIONS or hint is Any
    if dataclasses.is_dataclass(target) or _is_model(target):
        return isinstance(value, dict)
    if issubclass(target, enum.Enum):
        return any(member.value == value for member in target)
    if _is_sub(target, (tuple, list, set, frozenset)):
        return isinstance(value, list)
    if target is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, target)


@functools.lru_cache(maxsize=1024)
def _field_hints(cls: type) -> dict[str, Any]:
    """A dataclass's resolved field annotations, once per class."""
    return typing.get_type_hints(cls)


def _model_base() -> Any:
    """pydantic's `BaseModel` if pydantic is imported (a model cannot exist otherwise)."""
    pydantic = sys.modules.get("pydantic")
    return getattr(pydantic, "BaseModel", None) if pydantic is not None else None


def _is_model(cls: type) -> bool:
    model = _model_base()
    return model is not None and issubclass(cls, model)


def _is_sub(origin: Any, bases: tuple[Any, ...]) -> bool:
    return isinstance(origin, type) and issubclass(origin, bases)


def _kind(value: Any) -> str:
    return type(value).__name__


def _name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
