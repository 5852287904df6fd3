"""Identifiers: workflow_id is the caller's key, run_id a uuid4 per run, pid one per incarnation.

Generated ids are random uuid4s drawn from a generator seeded once from
``os.urandom`` (and again in a forked child), not from ``os.urandom`` each:
that call releases the GIL, and with hundreds of threads starting runs every
release is a hand-off that cost ~8% of the engine's CPU per workflow. Ids are
unique, not secret.
"""

from __future__ import annotations

import os
import random
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
    """A random uuid4, as 32 hex digits (what `uuid.UUID(int=..., version=4).hex` gives)."""
    return f"{_random.getrandbits(128) & _CLEAR | _VERSION_4:032x}"


#: the version and variant bits of a uuid4, cleared then set as `uuid.UUID` does
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_4 = (4 << 76) | (0x8000 << 48)


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
