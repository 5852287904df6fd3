"""Hypothesis strategies for payloads and events of every kind."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import strategies as st

from aion_actors.core import EVENT_TYPES, Event

INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
TEXT = st.text(max_size=20)
SCALARS = (
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False)
    | TEXT
    | st.binary(max_size=20)
    | st.uuids()
    | st.datetimes()
    | st.datetimes(timezones=st.just(dt.UTC))
)
#: any value a payload may hold (lists, not tuples: msgpack has one array type)
PAYLOADS: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
ERRORS = st.fixed_dictionaries(
    {"type": TEXT, "message": TEXT}, optional={"traceback": st.text(max_size=60)}
)
_BY_ANNOTATION: dict[str, st.SearchStrategy[Any]] = {
    "int": INT64,
    "str": TEXT,
    "float": st.floats(allow_nan=False),
    "Any": PAYLOADS,
    "ErrorInfo": ERRORS,
    "int | None": st.none() | INT64,
    "float | None": st.none() | st.floats(allow_nan=False),
    "dict[str, Any] | None": st.none() | st.dictionaries(TEXT, PAYLOADS, max_size=3),
    "dict[str, Any]": st.dictionaries(TEXT, PAYLOADS, max_size=3),
    "str | None": st.none() | TEXT,
    "bool": st.booleans(),
    "ErrorInfo | None": st.none() | ERRORS,
}


def events_of(cls: type[Event]) -> st.SearchStrategy[Event]:
    fields = {f.name: _BY_ANNOTATION[str(f.type)] for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


EVENTS: st.SearchStrategy[Event] = st.one_of([events_of(cls) for cls in EVENT_TYPES.values()])
