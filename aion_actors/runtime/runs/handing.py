"""A request whose caller stopped waiting (its timeout passed) is still kept. While the
store cannot write, however long, it waits with its run, which records it once it comes
back (see `unrecorded`). On a node, when its run's partition leaves the node before it
is recorded (the fence refuses its write whole, or the run is dropped with it in its
mailbox, or queued behind an append — nothing of it recorded), it is handed to the
partition's owner as a durable request, applied there once (often by this same node,
once it takes the partition again). The database may not answer yet then: its write is
tried again until it lands, in the background (the node's `HandedOn`); only an engine
that closes first gives it up, logging so at error level (`unkept`). See README "The
durability contract".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from aion_actors.core import EngineClosed, RunKey, StoreUnavailable
from aion_actors.runtime import messages as msg

log = logging.getLogger("aion_actors.runtime")

#: hands request (run key, request) to its partition's owner; never blocks its caller
HandOn = Callable[[RunKey, msg.RequestMessage], object]


class Durable(NamedTuple):
    """A request as another node applies it (a `NodeCall`'s kind and fields)."""

    kind: str
    name: str | None = None
    payload: object = None
    reason: str = ""


def durable(request: msg.RequestMessage) -> Durable | None:
    """`request` as a node call; None for a kind that is never handed on."""
    if isinstance(request, msg.Signal):
        return Durable("signal", request.name, request.payload)
    if isinstance(request, msg.CancelRequest):
        return Durable("cancel", reason=request.reason)
    if type(request) is msg.TerminateRequest:
        return Durable("terminate", reason=request.reason)
    if isinstance(request, msg.PauseRequest):
        return Durable("pause", reason=request.reason)
    if isinstance(request, msg.UnpauseRequest):
        return Durable("unpause")
    return None


def not_recorded_yet(key: RunKey, what: str, timeout: float | None, *, kept: bool) -> str:
    """The `TimeoutError` of a request (`what`: "signal 'go'", "cancel", ...) not recorded
    within `timeout`: what becomes of it — `kept` if it is recorded however long its run
    takes to write (handed on should its partition leave this node), else it may not be."""
    head = (
        f"workflow {key.workflow_id!r} (run {key.run_id}) did not record the {what} "
        f"within {timeout} s"
    )
    if kept:
        return (
            f"{head}; it is not lost: it is recorded once its run can write (the store may "
            "be unavailable, or its partition moving between nodes) — do not send it again"
        )
    return (
        f"{head}; it may still be recorded, unless its run's partition leaves this node "
        "first (then nothing of it is): read the run's history before asking again"
    )


def unkept(key: RunKey, request: msg.Request, error: BaseException | None) -> None:
    """The outcome of request `request`, whose caller stopped waiting: logged at error
    level if it is lost after all — the engine closed before it was recorded (or the
    store refused it where nothing could keep it for later)."""
    if isinstance(error, StoreUnavailable | EngineClosed):
        log.error(
            "%s of workflow %r (run %s) was lost: its caller gave up waiting, and it could "
            "not be recorded (%s); send it again (after reading the run's history)",
            request.what,
            key.workflow_id,
            key.run_id,
            error,
        )
