"""What becomes of requests a run took but did not record.

A request whose caller stopped waiting was told "it is not lost: it is recorded
once its run can write" (`runs.handing.not_recorded_yet`). So when a run's append
fails because the store cannot write (`StoreUnavailable`, `StoreFull` — however
long the outage), such a request is kept: it waits with the run, which comes back
by replay once the store writes again and records it then, once. A request whose
caller still waits is told the error instead, and is never recorded. A run dropped
from this node (its partition moved) records nothing more: its requests hear
`OwnershipLost`, which sends a waiting caller on to the new owner and hands an
abandoned request to it (see `runs.requests`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aion_actors.core import StoreUnavailable
from aion_actors.runtime import messages as msg


def fail(requests: Iterable[msg.Request], error: BaseException) -> list[msg.Request]:
    """Resolve `requests`, which `error` kept from being recorded, but for those to keep:
    returns them (in order), for the run's next incarnation to record."""
    if not isinstance(error, StoreUnavailable):
        for request in requests:
            request.ack.resolve(error)
        return []
    return [request for request in requests if request.ack.keep(error)]


def held(kept: list[msg.Request], sent: msg.Sent | None, error: BaseException) -> list[object]:
    """`kept` as the next incarnation takes them: those of `sent`, whose commit was in
    doubt when the store gave up (`maybe_recorded`), as `MaybeRecorded` — recorded
    already if the replayed history goes past that batch's head, never twice."""
    if sent is None or not (isinstance(error, StoreUnavailable) and error.maybe_recorded):
        return list(kept)
    ours = {id(request) for request in sent.requests}
    return [msg.MaybeRecorded(r, sent.after) if id(r) in ours else r for r in kept]


def refuse(message: object, error: BaseException) -> None:
    """Tell the sender of `message`, which nothing will handle (its run left this node),
    `error`; what no one waits for (an outcome, a due timer) goes: its run's new owner
    reads them from the store."""
    if isinstance(message, msg.MaybeRecorded):
        message = message.request
    if isinstance(message, msg.Request):
        message.ack.resolve(error)
    elif isinstance(message, msg.Query) and not message.reply.done():
        with contextlib.suppress(Exception):  # answered meanwhile: that answer stands
            message.reply.set_exception(error)
