"""A group commit whose answer was lost: it may or may not have committed.

The connection broke after `COMMIT` went out (the pipeline's closing Sync) and
before the server's answer came back. The store keeps a `Doubt` and, before it
writes anything else, asks the server how that transaction ended (`txid_status`):

- the same batch, retried (the backoff's next try): committed, its results are
  the answer — the batch is never applied twice; aborted, it is written again;
- another batch (the retry window ended first: the doubted batch's callers were
  told `MaybeRecorded`): the doubted one's timer knowledge is settled and the new
  batch is written — never answered with the doubted batch's results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aion_actors.core import StoreUnavailable
from aion_actors.store.postgres._appends import Batch, Results, xid_status
from aion_actors.store.postgres._timers import TimerChanges

log = logging.getLogger("aion_actors.store.postgres")


class Unsettled(Exception):
    """A doubted commit's transaction still runs on the server: ask again later."""


@dataclass(frozen=True)
class Doubt:
    """A commit whose answer was lost."""

    #: its transaction id on the server (what `txid_status` is asked about)
    xid: int
    #: the batch it carried: the only one its results may answer (by identity)
    batch: Batch
    #: per request, what it wrote — true only if the transaction committed
    results: Results
    #: its timer changes, to apply to the store's knowledge once it is known to have committed
    timers: TimerChanges


def settle(conn: Any, doubt: Doubt, batch: Batch) -> Results | None:
    """How `doubt` ended, asked on `conn`: its results when `batch` is the doubted batch
    and it committed; None when `batch` is still to be written. Raises `Unsettled`
    while its transaction runs."""
    status = xid_status(conn, doubt.xid)
    if status == "in progress":
        raise Unsettled(f"transaction {doubt.xid} still runs on the server")
    if status != "committed":
        return None
    doubt.timers.committed()
    if doubt.batch is batch:
        return doubt.results
    log.warning(
        "a group commit whose answer was lost in a database outage did commit (%d appends; "
        "their callers were told they may have been recorded, and their runs replay them)",
        len(doubt.results),
    )
    return None


class MaybeRecorded(StoreUnavailable):
    """The store gave up while its commit was in doubt: this call may have been recorded."""

    _recorded = (
        "this call may have been recorded: the server's answer to its commit was lost "
        "(read the run's history before repeating it)"
    )
    maybe_recorded = True

    def __init__(self, unavailable: StoreUnavailable) -> None:
        super().__init__(unavailable.path, unavailable.cause, unavailable.advice)
        self._unavailable = unavailable

    def for_later_calls(self) -> StoreUnavailable:
        return self._unavailable
