"""Identifiers: workflow_id is the caller's key, run_id a uuid7 per run, pid one per incarnation.

Generated ids are uuid7s (RFC 9562): the unix time in ms, then 74 random
bits, so ids made later sort later. The store keys every event by
workflow_id and run_id, and random keys scatter each group commit's new
events across the whole B-tree, so every commit copied and wrote many more
pages: ids in time order put a commit's new runs side by side (measured: the
floor's CPU per workflow ~255 µs with random ids, ~215 with these). The
random bits come from a generator seeded once from ``os.urandom`` (and again
in a forked child), not from ``os.urandom`` each: that call releases the
GIL, and with hundreds of threads starting runs every release is a hand-off
that cost ~8% of the engine's CPU per workflow. Ids are unique, not secret.
"""

from __future__ import annotations

import os
import random
import time
from typing import NamedTuple

from aion_actors.core.errors import PayloadError

WorkflowId = str
RunId = str
Pid = int

_MAX_ID_BYTES = 200


class RunKey(NamedTuple):
    """One run: its workflow's key and its own id."""

    workflow_id: WorkflowId
    run_id: RunId


_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def new_run_id() -> RunId:
    """A new uuid7 (the time in ms, then random bits), as 32 hex digits."""
    ms = time.time_ns() // 1_000_000
    return f"{ms << 80 | _random.getrandbits(80) & _RANDOM | _VERSION_7:032x}"


#: the bits of a uuid7 after its 48-bit time: version (4 bits), 12 random, variant (2), 62 random
_RANDOM = ~((0xF << 76) | (0b11 << 62)) & ((1 << 80) - 1)
_VERSION_7 = (7 << 76) | (0b10 << 62)


def new_workflow_id() -> WorkflowId:
    return new_run_id()


def check_id(value: object, what: str) -> str:
    """Refuse ids the store cannot key: LMDB keys are bytes separated by NUL."""
    if not isinstance(value, str):
        raise PayloadError(what, f"must be a str, got {type(value).__name__}")
    if value.isascii() and 0 < len(value) <= _MAX_ID_BYTES and "\x00" not in value:
        return value  # the common case, checked without encoding the id
    if not value:
        raise PayloadError(what, "must not be empty")
    if "\x00" in value:
        raise PayloadError(what, "must not contain NUL characters")
    try:
        encoded = value.encode()
    except UnicodeEncodeError:
        raise PayloadError(what, "is not valid text (it holds lone surrogates)") from None
    if len(encoded) > _MAX_ID_BYTES:
        raise PayloadError(what, f"is longer than {_MAX_ID_BYTES} bytes")
    return value


def check_reason(reason: object, what: str) -> str:
    """A reason (of a cancel, a terminate, a pause, a reset) is recorded as text: refuse
    anything else before anything is recorded."""
    if not isinstance(reason, str):
        raise TypeError(f"a {what} reason must be a str, got {type(reason).__name__} {reason!r}")
    return reason


def check_signal_name(name: object) -> str:
    """A signal's name is recorded as text and waited on by it: a non-empty str."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a signal name must be a non-empty str, got {name!r}")
    return name
