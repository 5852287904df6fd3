"""Search attributes: which values a run may set, and how the stores compare them.

A search attribute is a name (a Python identifier, at most 64 characters) and a
value: `str`, `int`, `float`, `bool`, a timezone-aware `datetime`, or a list of
those. `None` (in `ctx.set_attributes`) deletes the name. Stores index every
value by its *token* (`tokens`): bytes that tell the kinds apart (`1`, `1.0` and
`True` are three values) and compare datetimes by the instant they name. A list
is indexed by each of its items, so a query for one value finds the runs whose
attribute is that value or a list holding it. Every store matches by these
tokens, so they agree on what matches.
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
from collections.abc import Mapping
from typing import Any, Final

from aion_actors.core.codec import check_payload
from aion_actors.core.errors import PayloadError

MAX_NAME: Final = 64
#: the encoded size of one `set_attributes` call (the run index keeps the merged set)
MAX_BYTES: Final = 16 * 1024
SCALAR_KINDS: Final = "str, int, float, bool or a timezone-aware datetime"
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def check_name(name: object, where: str) -> str:
    """`name` if it can name an attribute; a `PayloadError` saying why not."""
    if not isinstance(name, str) or not name.isidentifier() or len(name) > MAX_NAME:
        raise PayloadError(
            where,
            f"attribute name {name!r} must be a Python identifier of at most {MAX_NAME} "
            "characters (letters, digits, underscores), e.g. 'customer'",
        )
    return name


def check_scalar(value: object, where: str) -> None:
    """Refuse a value that is not one of the indexable kinds, naming `where`."""
    if isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if math.isnan(value):
            raise PayloadError(where, "NaN cannot be searched for (it equals nothing)")
        return
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise PayloadError(
                where, f"datetime {value!r} has no timezone; give an aware one (tz=UTC)"
            )
        return
    raise PayloadError(
        where,
        f"a search attribute value must be {SCALAR_KINDS}, or a list of them; "
        f"got {type(value).__name__} {value!r}",
    )


def check_attributes(attributes: object, *, deletes: bool = True) -> dict[str, Any]:
    """A copy of `attributes` if every name and value may be set (None deletes, if
    `deletes`); lists become lists. A `PayloadError` names the first fault."""
    if not isinstance(attributes, Mapping):
        raise PayloadError(
            "attributes", f"must be a dict of name -> value, got {type(attributes).__name__}"
        )
    checked: dict[str, Any] = {}
    for name, value in attributes.items():
        where = f"attributes[{name!r}]"
        check_name(name, where)
        if value is None and deletes:
            checked[name] = None
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                check_scalar(item, f"{where}[{index}]")
            checked[name] = list(value)
        else:
            check_scalar(value, where)
            checked[name] = value
    check_payload(checked, "attributes", max_bytes=MAX_BYTES)
    return checked


def token(value: Any) -> bytes | None:
    """The index token of one scalar value; None for a value no query can match."""
    if isinstance(value, bool):
        return b"b1" if value else b"b0"
    if isinstance(value, int):
        return b"i" + str(value).encode()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return b"f" + struct.pack(">d", value + 0.0)  # (-0.0 + 0.0 is 0.0)
    if isinstance(value, str):
        return b"s" + value.encode(errors="surrogatepass")
    if isinstance(value, _dt.datetime) and value.tzinfo is not None:
        delta = value - _EPOCH
        ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
        return b"t" + str(ns).encode()
    return None


def tokens(value: Any) -> set[bytes]:
    """Every token an attribute value is indexed by (a list: each item's)."""
    items = value if isinstance(value, list | tuple) else [value]
    return {found for item in items if (found := token(item)) is not None}
