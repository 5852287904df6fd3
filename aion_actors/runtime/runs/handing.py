"""A request whose caller stopped waiting (its timeout passed) is still kept: on a node,
when its run's partition leaves the node before it is recorded (the fence refuses its
write whole, or the run is dropped with it in its mailbox — nothing of it recorded), it
is handed to the partition's owner as a durable request, applied there once (often by
this same node, once it takes the partition again). The database may not answer yet
then: its write is tried again until it lands, in the background (the node's
`HandedOn`); only an engine that closes first gives it up, logging so at error level.
See README "The durability contract".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from aion_actors.core import RunKey
from aion_actors.runtime import messages as msg

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
