"""Identifiers: workflow_id is the caller's key, run_id a uuid4 per run, pid one per incarnation."""

from __future__ import annotations

import uuid

from aion_actors.core.errors import PayloadError

WorkflowId = str
RunId = str
Pid = int

_MAX_ID_BYTES = 200


def new_run_id() -> RunId:
    return uuid.uuid4().hex


def new_workflow_id() -> WorkflowId:
    return uuid.uuid4().hex


def check_id(value: object, what: str) -> str:
    """Refuse ids the store cannot key: LMDB keys are bytes separated by NUL."""
    if not isinstance(value, str):
        raise PayloadError(what, f"must be a str, got {type(value).__name__}")
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
