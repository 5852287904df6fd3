"""Pause and unpause at the run's actor: the requests, and where a paused run's code stands.

A paused run keeps recording what reaches it — activity outcomes (an
activity already scheduled runs to its end, retries included), fired
timers, signals, child endings, cancel and terminate requests — but its
workflow code does not run, so nothing new is scheduled. On unpause the code
runs on everything recorded meanwhile, in history's order, exactly as a
replay of the whole history would: a replay after a restart takes the same
branch. A run rebuilt while paused runs its code as far as it had run when
it was paused (so it answers queries), and holds the rest for the unpause.
"""

from __future__ import annotations

from collections.abc import Sequence

from aion_actors.core import AionError, OperationRefused, RunKey
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.ledger import Ledger


def refusal(key: RunKey, request: msg.Request, ledger: Ledger) -> AionError | None:
    """Why the run cannot take `request` in its state now (`ledger`), if it cannot."""
    run = _named(key)
    if isinstance(request, msg.DequeueRequest | msg.CancelQueuedRequest) and not ledger.queued:
        return OperationRefused(f"{run} is not queued; nothing was recorded")
    if isinstance(request, msg.PauseRequest | msg.UnpauseRequest) and ledger.queued:
        return queued(key)
    if isinstance(request, msg.PauseRequest) and ledger.paused:
        return OperationRefused(f"{run} is paused already; nothing was recorded")
    if isinstance(request, msg.UnpauseRequest) and not ledger.paused:
        return OperationRefused(f"{run} is not paused; nothing was recorded")
    return None


def queued(key: RunKey) -> OperationRefused:
    """The refusal of an operation on the code of run `key`, which waits in its queue
    (`Ledger.queued`): pause, unpause, reset."""
    run = _named(key)
    return OperationRefused(f"{run} is queued: its code has not started; nothing was recorded")


def _named(key: RunKey) -> str:
    return f"workflow {key.workflow_id!r} (run {key.run_id})"


def split(history: Sequence[ev.Event], paused: bool) -> tuple[list[ev.Event], list[ev.Event]]:
    """The history a run's code had run on, and what it holds for its unpause: all of it
    and nothing unless `paused`, else what came before and after its last `RunPaused`."""
    events = list(history)
    if not paused:
        return events, []
    cut = max(i for i, e in enumerate(events) if isinstance(e, ev.RunPaused)) + 1
    return events[:cut], events[cut:]
