"""Whether the engine is quiet: nothing in hand, every open run waiting on time or on you.

A virtual clock (`aion_actors.testing`) may jump to the next due timer only
then. The test reads counters the engine keeps anyway, and is asked, never
polled: each part that can finish the engine's last piece of work calls
`Clock.settled()` as it finishes, and the clock asks `Quiet` again.

The rule. The engine is quiet when, at once:

1. no lane (rehydration, the run owner's lane) has a call queued or running
   (`Lane.busy`) — its thread calls `settled()` when it runs dry;
2. no activity attempt runs or has an outcome on its way to its run
   (`Attempts.busy`: an attempt is forgotten only once its outcome is in the
   run's inbox, and that inbox is then busy);
3. every open run is PARKED, AWAITING_TYPE or ABSENT with an empty mailbox,
   or LIVE with an idle actor: it last reported itself idle (`run_idle`,
   which it does *before* handing its batch to the recorder, so a commit in
   flight is never mistaken for quiet) and its inbox is dry and not running
   (`busy` of its mailbox) — its dispatcher thread calls `settled()` each
   time the inbox runs dry. A STARTING, RESERVED, CLOSING or STALLED run is
   busy;
4. no timer is due at the clock's now (the store's timer index): a timer
   reported to its run stays in the index until its `TimerFired` commits,
   so a `TimerDue` told to an idle run is never lost between 3 and 4.

The recorder's queue needs no check of its own: every append waits in
someone counted above (an actor's commit in flight makes it not idle; a
lane or a caller waits for the commits made on a run's behalf). A caller's
own request (a signal, a cancel) is not seen until its run takes it, which
is why time skips by itself only while a caller waits for a run to end —
and only when time can move that run on (`waits_on_time`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence

from aion_actors.core import WorkflowStatus
from aion_actors.core.durations import LAST_NS
from aion_actors.runtime.attempts import Attempts
from aion_actors.runtime.evictor import Evictor
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.runs.entry import Presence
from aion_actors.runtime.runs.table import RunTable
from aion_actors.store import EventStore

#: runs that wait for the user (a resume, a registration), not for the engine
_WAITING = (Presence.PARKED, Presence.AWAITING_TYPE, Presence.ABSENT, Presence.LIVE)


class Quiet:
    def __init__(
        self,
        table: RunTable,
        evictor: Evictor,
        attempts: Attempts,
        lanes: Sequence[Lane],
        store: EventStore,
        now_ns: Callable[[], int],
    ) -> None:
        self._table = table
        self._evictor = evictor
        self._attempts = attempts
        self._lanes = lanes
        self._store = store
        self._now_ns = now_ns

    def next_timer(self) -> int | None:
        try:
            timer = self._store.next_timer()
        except Exception:  # a closed or failing store: nothing will fire
            return None
        return None if timer is None else timer.fire_at

    def waits_on_time(self, workflow_ids: Collection[str]) -> bool:
        """Whether time can move one of these workflows' open runs on: it, or a run it
        started (at any depth), has a durable timer, or it waits in a queue for a slot
        (which other runs, their timers firing, may free). A run that waits only for a
        signal or an operator does not: skipping time for it would only fire the timers
        of runs no one waits for."""
        wanted, children = set(workflow_ids), defaultdict[str, list[str]](list)
        for entry in self._table.entries():
            if entry.parent is not None:
                children[entry.parent["workflow_id"]].append(entry.key.workflow_id)
        todo = list(wanted)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in wanted:
                    wanted.add(child)
                    todo.append(child)
        try:
            if any(timer.workflow_id in wanted for timer in self._store.due_timers(LAST_NS)):
                return True
            runs = [self._store.latest_run(workflow_id) for workflow_id in workflow_ids]
        except Exception:  # a closed or failing store: nothing will fire
            return False
        return any(run is not None and run.status is WorkflowStatus.QUEUED for run in runs)

    def is_quiet(self) -> bool:
        if self._attempts.busy or any(lane.busy for lane in self._lanes):
            return False
        for entry in self._table.entries():
            if entry.presence not in _WAITING or entry.mailbox:
                return False
            if entry.presence is Presence.LIVE:
                inbox = getattr(entry.ref, "actor_inbox", None)
                if getattr(inbox, "busy", True) or not self._evictor.is_idle(entry.key):
                    return False
        try:
            return not self._store.due_timers(self._now_ns(), limit=1)
        except Exception:  # a closed or failing store: nothing will move
            return False
