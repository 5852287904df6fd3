"""The recent starts of a rate-limited activity, read back from history after a restart.

An engine that restarts must not grant an activity's rate a fresh window:
the calls its last life made in the last `per` seconds still count. The
hand-off of an attempt to its executor is not recorded (that would cost a
commit per attempt), but history bounds it: it came after the attempt's
`ActivityScheduled` and before the event that ended the attempt — its
`ActivityCompleted`, `ActivityAttemptFailed`, `ActivityFailed` or
`ActivityHandedOff` — or, lacking one, before its run closed, or before
the engine started again (an attempt in flight when it stopped). Each
attempt scheduled before this engine started counts at the latest of those
instants, and not later than the start (an attempt of this engine's life
passes the limits itself, and is counted as it does). Counting a start
later than it happened only holds the next ones back longer, never less:
a start that lies in a window of `per` seconds before a new start is always
counted in it, so no window holds more than `limit` starts across the
restart.

Read once per rate-limited activity and engine, at its first attempt: the
histories of the open runs and of the runs closed within the window (a run
that called the activity in the window and closed closed in it too), like
`queues.rebuild.recent_starts` does for a queue's starts.
"""

from __future__ import annotations

from aion_actors.core import AionError, RunKey
from aion_actors.core import events as ev
from aion_actors.store import EventStore, RunQuery

#: the events that end an attempt (its hand-off came before)
_ENDS = (ev.ActivityCompleted, ev.ActivityAttemptFailed, ev.ActivityFailed, ev.ActivityHandedOff)


class RecentCalls:
    """`recent(name, since, born)`: when the calls of activity `name` scheduled before
    `born` (the engine's start, unix ns) that may have been handed to an executor after
    `since` were, at the latest."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    def __call__(self, name: str, since: int, born: int) -> list[int]:
        runs = dict.fromkeys(RunKey(r.workflow_id, r.run_id) for r in self._store.open_runs())
        for closed in self._store.search(RunQuery(closed_after=since)):
            runs[RunKey(closed.workflow_id, closed.run_id)] = None
        times: list[int] = []
        for run in runs:
            try:
                events = self._store.read(run.workflow_id, run.run_id)
            except AionError:  # a damaged history: its run is parked, its calls unknown
                continue
            times += [at for at in latest_starts(events, name, born) if at > since]
        return times


def latest_starts(events: list[ev.Event], name: str, born: int) -> list[int]:
    """For each attempt of activity `name` in one run's `events` scheduled before `born`:
    the latest instant its hand-off may have happened (see the module doc)."""
    open_attempts: dict[tuple[str, int], ev.ActivityScheduled] = {}
    times: list[int] = []
    for event in events:
        if isinstance(event, ev.ActivityScheduled):
            if event.name == name and event.recorded_at < born:
                open_attempts[(event.activity_id, event.attempt)] = event
        elif isinstance(event, _ENDS) and open_attempts:
            attempt = getattr(event, "attempt", None)
            for key in [k for k in open_attempts if k[0] == event.activity_id]:
                if attempt is None or key[1] == attempt:
                    del open_attempts[key]
                    times.append(min(event.recorded_at, born))
        elif isinstance(event, ev.ENDINGS):
            times += [min(event.recorded_at, born)] * len(open_attempts)  # so had they
            open_attempts.clear()
    return times + [born] * len(open_attempts)
