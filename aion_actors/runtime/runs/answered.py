"""The answer a continue-as-new chain already gave an update: read from closed runs.

An update retried with its `update_id` goes to the workflow_id's open run;
if an earlier run of its chain answered it before continuing as new, that
answer stands (README "Updates": exactly once per `update_id`). The open
run asks here — off its actor's thread, on a lane — before it would accept
an id it does not know. Each run's `WorkflowStarted.continued_from` names
the run it continued from; those runs are closed, so their histories are
final and the walk is complete whenever it runs. It goes back newest first
to the first `UpdateCompleted` of the id, stopping at the chain's start, at
a run the store no longer has (pruned by retention) or at one started before
`continued_from` was recorded. No bound on the chain's length: a retry must
be recognised however often the chain moved on; the cost — reading the
predecessors' histories — is paid only for an id the caller gave that the
open run does not know (an id the engine made up is never looked for).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pykka

from aion_actors.core import EngineClosed, RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.update_calls import LookedUp, LookUp
from aion_actors.store import EventStore

#: what the open run hears: the recorded answer, None (no predecessor answered the id),
#: or the error reading the store raised (its callers hear it; nothing is accepted)
Found = ev.UpdateCompleted | BaseException | None


def answered(
    store: EventStore, workflow_id: str, since: str | None, update_id: str, *, chain: bool = True
) -> ev.UpdateCompleted | None:
    """The `UpdateCompleted` of `update_id` in run `since` or (`chain`) the runs it
    continued from."""
    seen: set[str] = set()
    while since is not None and since not in seen:  # (a cycle cannot be written; guard)
        seen.add(since)
        history = store.read(workflow_id, since)
        for event in history:
            if isinstance(event, ev.UpdateCompleted) and event.update_id == update_id:
                return event
        started = history[0] if history and chain else None
        since = started.continued_from if isinstance(started, ev.WorkflowStarted) else None
    return None


def look_up(store: EventStore, key: RunKey, look: LookUp, ref: pykka.ActorRef[Any]) -> None:
    """`answered`, told to run `key`'s actor at `ref` as `LookedUp` (a lane's call: it
    runs in the lane's thread). An actor gone meanwhile handed its calls on: they are
    searched for again by the incarnation that has them."""
    try:
        found: Found = answered(store, key.workflow_id, look.since, look.update_id)
    except Exception as exc:  # (StoreUnavailable, CorruptEvent...): the callers hear it
        found = exc
    with contextlib.suppress(pykka.ActorDeadError):
        ref.tell(LookedUp(look.update_id, found))


def search(
    lane: Lane, store: EventStore, key: RunKey, look: LookUp, ref: pykka.ActorRef[Any]
) -> None:
    """`look_up` on `lane`; a closing engine's lane refuses it: the actor hears so."""
    if not lane.submit(look_up, store, key, look, ref):
        with contextlib.suppress(pykka.ActorDeadError):
            ref.tell(LookedUp(look.update_id, EngineClosed()))
