"""Postgres arrays in binary form, built here in one pass, for the group commit's `unnest`.

psycopg dumps a Python list element by element through its adapters: for a
batch of a thousand events and their runs that is milliseconds of the single
writer's time. These build the array's wire format (`array_recv`: ndim, has
nulls, element oid, length, lower bound, then each element's length and
bytes, -1 for NULL) with `struct` and hand it over as it is: a parameter
`TextArray(...)` goes to the server as one `text[]` value. `register` teaches a
connection to pass them (the pool does it to each new connection).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any, Final

_HEAD: Final = struct.Struct(">iiiii")
_EMPTY: Final = struct.Struct(">iii")
_LENGTH: Final = struct.Struct(">i").pack
_INT8: Final = struct.Struct(">iq").pack
_INT4: Final = struct.Struct(">ii").pack
_NULL: Final = b"\xff\xff\xff\xff"

#: element type oids (pg_type) and the oids of their array types
_TEXT, _BYTEA, _INT8_OID, _INT4_OID = 25, 17, 20, 23
_ARRAY_OIDS: Final = {_TEXT: 1009, _BYTEA: 1001, _INT8_OID: 1016, _INT4_OID: 1007}


class Array(bytes):
    """A binary array value; the subclass says its element type."""

    element_oid = 0


class TextArray(Array):
    element_oid = _TEXT


class ByteaArray(Array):
    element_oid = _BYTEA


class Int8Array(Array):
    element_oid = _INT8_OID


class Int4Array(Array):
    element_oid = _INT4_OID


def _array(element_oid: int, count: int, nulls: bool, body: Iterable[bytes]) -> bytes:
    if count == 0:
        return _EMPTY.pack(0, 0, element_oid)
    return _HEAD.pack(1, int(nulls), element_oid, count, 1) + b"".join(body)


def _bytes_body(items: Sequence[bytes | None]) -> tuple[bool, list[bytes]]:
    parts: list[bytes] = []
    nulls = False
    for item in items:
        if item is None:
            parts.append(_NULL)
            nulls = True
        else:
            parts.append(_LENGTH(len(item)))
            parts.append(item)
    return nulls, parts


def text(items: Sequence[str | None]) -> TextArray:
    """A `text[]` (UTF-8, as the server's encoding is; NULL for None)."""
    nulls, body = _bytes_body([None if item is None else item.encode() for item in items])
    return TextArray(_array(_TEXT, len(items), nulls, body))


def bytea(items: Sequence[bytes | None]) -> ByteaArray:
    nulls, body = _bytes_body(items)
    return ByteaArray(_array(_BYTEA, len(items), nulls, body))


def int8(items: Sequence[int | None]) -> Int8Array:
    """A `bigint[]`; a value outside 64 bits raises `struct.error` before anything is sent."""
    body = [_NULL if item is None else _INT8(8, item) for item in items]
    return Int8Array(_array(_INT8_OID, len(items), None in items, body))


def int4(items: Sequence[int | None]) -> Int4Array:
    body = [_NULL if item is None else _INT4(4, item) for item in items]
    return Int4Array(_array(_INT4_OID, len(items), None in items, body))


_dumpers: list[tuple[type[Array], type[Any]]] = []


def register(conn: Any) -> None:
    """Let `conn` pass the arrays above as parameters, unchanged, in binary."""
    if not _dumpers:
        from psycopg.adapt import Dumper
        from psycopg.pq import Format

        for cls in (TextArray, ByteaArray, Int8Array, Int4Array):

            class _Dumper(Dumper):
                format = Format.BINARY
                oid = _ARRAY_OIDS[cls.element_oid]

                def dump(self, obj: Any) -> bytes:
                    return obj  # type: ignore[no-any-return]  # (already in wire form)

            _dumpers.append((cls, _Dumper))
    for wrapper, dumper in _dumpers:
        conn.adapters.register_dumper(wrapper, dumper)
