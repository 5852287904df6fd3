"""msgpack encoding of events and payloads, and the checks that guard it.

On disk an event is a msgpack map `{"v": SCHEMA_VERSION, "kind": name,
"seq": .., "recorded_at": .., <fields>}` with its field names spelled out,
so other tools can read a data directory without this package. `datetime`
and `UUID` travel as extension types; nothing is ever pickled.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import threading
import uuid
from typing import Any, Final

import msgpack

from aion_actors.core.errors import CorruptEvent, PayloadError
from aion_actors.core.events import EVENT_TYPES, Event

SCHEMA_VERSION: Final = 1
MAX_PAYLOAD_BYTES: Final = 4 * 1024 * 1024
MAX_DEPTH: Final = 64

_EXT_DATETIME: Final = 1
_EXT_UUID: Final = 2
_SCALARS: Final = (float, bytes, type(None), _dt.datetime, uuid.UUID)
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**64 - 1

# Per kind: the class and the (field, accepted types) pairs to check after
# construction; fields typed Any accept any msgpack value and are not listed.
_TYPES_BY_ANNOTATION: Final[dict[str, tuple[type, ...] | None]] = {
    "int": (int,),
    "str": (str,),
    "float": (float, int),
    "Any": None,
    "ErrorInfo": (dict,),
    "int | None": (int, type(None)),
    "float | None": (float, int, type(None)),
    "dict[str, Any] | None": (dict, type(None)),
    "dict[str, Any]": (dict,),
    "ErrorInfo | None": (dict, type(None)),
    "str | None": (str, type(None)),
    "bool": (bool,),
}
_KINDS: Final[dict[str, tuple[type[Event], tuple[tuple[str, tuple[type, ...]], ...]]]] = {
    name: (
        cls,
        tuple(
            (f.name, types)
            for f in dataclasses.fields(cls)
            if (types := _TYPES_BY_ANNOTATION[str(f.type)]) is not None
        ),
    )
    for name, cls in EVENT_TYPES.items()
}
_FIELD_NAMES: Final[dict[type[Event], tuple[str, ...]]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in EVENT_TYPES.values()
}
_FIELD_SETS: Final = {cls: frozenset(names) for cls, names in _FIELD_NAMES.items()}
#: per class: the fields to encode, and those to check as `decode_event` will (one lookup)
_ENCODING: Final = {cls: (_FIELD_NAMES[cls], checks) for cls, checks in _KINDS.values()}
_new = object.__new__
_setattr = object.__setattr__


def _ext_default(value: object) -> msgpack.ExtType:
    if isinstance(value, _dt.datetime):
        return msgpack.ExtType(_EXT_DATETIME, value.isoformat().encode())
    if isinstance(value, uuid.UUID):
        return msgpack.ExtType(_EXT_UUID, value.bytes)
    raise TypeError(f"{type(value).__name__} is not serialisable")


def _ext_hook(code: int, data: bytes) -> object:
    if code == _EXT_DATETIME:
        return _dt.datetime.fromisoformat(data.decode())
    if code == _EXT_UUID:
        return uuid.UUID(bytes=data)
    raise ValueError(f"unknown msgpack extension type {code}")


_local = threading.local()


def packb(value: Any) -> bytes:
    """Encode a value that is already known to be a valid payload."""
    # A reused Packer is about twice as fast as msgpack.packb; one per thread,
    # since a Packer is not thread-safe.
    try:
        packer = _local.packer
    except AttributeError:
        packer = _local.packer = msgpack.Packer(default=_ext_default, use_bin_type=True)
    return packer.pack(value)  # type: ignore[no-any-return]


def unpackb(data: bytes) -> Any:
    """Decode bytes written by `packb`; raises msgpack/ValueError on bad input."""
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False, use_list=True)


def check_payload(
    value: Any, path: str = "input", *, max_bytes: int | None = MAX_PAYLOAD_BYTES
) -> bytes:
    """Validate `value` as a payload and return its encoding.

    Raises `PayloadError` naming the offending path (`input["items"][3]`),
    for a value that is not a msgpack value, nests deeper than `MAX_DEPTH`
    or encodes to more than `max_bytes` (None: any size, for a caller that
    checks the size later).
    """
    _walk(value, path, 0)
    try:
        data = packb(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise PayloadError(path, f"is not serialisable ({exc})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise oversized(path, len(data), max_bytes)
    return data


def oversized(path: str, size: int, max_bytes: int) -> PayloadError:
    """The `PayloadError` for a payload at `path` that encodes to `size` bytes, over the limit."""
    return PayloadError(
        path,
        f"encodes to {size} bytes, over the {max_bytes}-byte payload limit; "
        "store large data elsewhere and pass a reference",
    )


def _walk(value: Any, path: str, depth: int) -> None:
    if isinstance(value, str):
        if not value.isascii():
            _check_text(value, path)
        return
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise PayloadError(path, "int is outside the 64-bit range msgpack can store")
        return
    if isinstance(value, _SCALARS):
        return
    if depth >= MAX_DEPTH:
        raise PayloadError(path, f"is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int, bytes)):
                raise PayloadError(
                    subscript(path, key),
                    f"dict key of type {type(key).__name__} is not serialisable; use str keys",
                )
            _walk(key, subscript(path, key), depth + 1)
            _walk(item, subscript(path, key), depth + 1)
        return
    raise PayloadError(path, f"{type(value).__name__} is not serialisable")


def _check_text(value: str, path: str) -> None:
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PayloadError(path, "str holds lone surrogates and is not valid UTF-8") from None


def subscript(path: str, key: object) -> str:
    """The path of `key`'s item under `path`, in Python subscript form: `input["items"]`."""
    return f"{path}[{json.dumps(key) if isinstance(key, str) else repr(key)}]"


def encode_event(event: Event) -> bytes:
    """Encode one event; a field of a type the schema refuses, or that is not a msgpack
    value, is a `PayloadError` naming it."""
    cls = type(event)
    encoding = _ENCODING.get(cls)
    if encoding is None:
        raise PayloadError("event", f"{cls.__name__} is not an event kind of this schema")
    names, checks = encoding
    record: dict[str, Any] = {"v": SCHEMA_VERSION, "kind": cls.__name__}
    for name in names:
        record[name] = getattr(event, name)
    for name, types in checks:  # what `decode_event` would refuse is never written
        if not isinstance(record[name], types):
            kinds = " or ".join(t.__name__ for t in types)
            got = type(record[name]).__name__
            raise PayloadError(f"{cls.__name__}.{name}", f"must be a {kinds}, got {got}")
    try:
        return packb(record)
    except (TypeError, ValueError, OverflowError) as exc:
        for name in names:
            _walk(record[name], f"{cls.__name__}.{name}", 0)
        raise PayloadError(cls.__name__, f"is not serialisable ({exc})") from None


def decode_event(
    data: bytes,
    *,
    workflow_id: str | None = None,
    run_id: str | None = None,
    seq: int | None = None,
) -> Event:
    """Decode one stored event; any defect is a `CorruptEvent` naming the run and seq."""
    try:
        record = unpackb(data)
    except Exception as exc:
        problem = f"not valid msgpack ({type(exc).__name__}: {exc})"
    else:
        result = _defect(record, seq) or _build(record)
        if not isinstance(result, str):
            return result
        problem = result
    raise CorruptEvent(problem, workflow_id=workflow_id, run_id=run_id, seq=seq)


def _build(record: dict[str, Any]) -> Event | str:
    """The event `record` describes, or what is wrong with it."""
    cls, checks = _KINDS[record.pop("kind")]
    del record["v"]
    if record.keys() == _FIELD_SETS[cls]:
        # Replay's hot path: every field present, so set them as the frozen
        # dataclass's own __init__ would, without its argument parsing.
        event = _new(cls)
        for name, value in record.items():
            _setattr(event, name, value)
    else:
        try:
            event = cls(**record)
        except TypeError as exc:
            return f"{cls.__name__} fields do not match: {exc}"
    for name, types in checks:
        if not isinstance(getattr(event, name), types):
            return f"{cls.__name__}.{name} is a {type(getattr(event, name)).__name__}"
    return event


def _defect(record: Any, seq: int | None) -> str | None:
    """What makes `record` unusable before construction is even tried, if anything."""
    if not isinstance(record, dict):
        return f"expected a map, found {type(record).__name__}"
    if record.get("v") != SCHEMA_VERSION:
        return f"schema version {record.get('v')!r}, expected {SCHEMA_VERSION}"
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        return f"unknown event kind {kind!r}"
    if seq is not None and record.get("seq") != seq:
        return f"{kind} carries seq {record.get('seq')!r}, stored at seq {seq}"
    return None
