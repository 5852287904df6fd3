"""msgpack values as plain JSON and back, losing nothing: the encoding of exported histories.

JSON has no bytes, datetimes, UUIDs, non-finite floats or maps with non-string
keys, all of which a stored payload may hold. Each travels as a one-key object
whose key names its type:

- `{"$bytes": "<base64>"}` for bytes;
- `{"$datetime": "<ISO 8601>"}` for a `datetime` (naive or aware, as stored);
- `{"$uuid": "<hex with dashes>"}` for a `UUID`;
- `{"$float": "nan" | "inf" | "-inf"}` for a float JSON cannot spell;
- `{"$map": [[key, value], ...]}` for a map with a key that is not a string, or
  with a string key beginning with `$` (so a payload's own `{"$bytes": ...}`
  is never mistaken for a tag).

Every other value is itself: strings, integers, finite floats, booleans,
null, lists (a tuple becomes a list, as msgpack stores it) and string-keyed maps.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from typing import Any

_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def to_json(value: Any) -> Any:
    """`value` (a msgpack value) as a JSON-ready value `from_json` turns back into it."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: to_json(v) for k, v in value.items()}
        return {"$map": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    raise TypeError(f"{type(value).__name__} is not a msgpack value")


def from_json(value: Any, path: str = "value") -> Any:
    """The msgpack value `to_json` encoded; a malformed tag is a `ValueError` naming `path`."""
    if isinstance(value, list):
        return [from_json(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, body),) = value.items()
        if tag.startswith("$"):
            return _tagged(tag, body, path)
    for key in value:
        if key.startswith("$"):
            raise ValueError(f"{path}: key {key!r} begins with '$' outside a one-key tag")
    return {k: from_json(v, f"{path}[{k!r}]") for k, v in value.items()}


def _tagged(tag: str, body: Any, path: str) -> Any:
    try:
        if tag == "$map":
            return {from_json(k, f"{path}.key"): from_json(v, f"{path}[{k!r}]") for k, v in body}
        if tag == "$bytes":
            return base64.b64decode(body, validate=True)
        if tag == "$datetime":
            return dt.datetime.fromisoformat(body)
        if tag == "$uuid":
            return uuid.UUID(body)
        if tag == "$float":
            return _FLOATS[body]
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: malformed {tag} value {body!r} ({exc})") from None
    raise ValueError(
        f"{path}: unknown tag {tag!r}; expected $bytes, $datetime, $uuid, $float or $map"
    )
