"""A queue's state from the store: its runs that are still open, read when it is registered.

The open runs whose second event is `WorkflowQueued` belong to a queue: one
still `queued` waits again, in its enqueue order (the time its
`WorkflowQueued` was recorded); any other open one (running, paused,
parked) holds a slot of its queue and key until it closes. So the limits
hold across an engine restart. Derived from `open_runs()` and the first two
events of each open run, read once per engine, when the first queue is
registered — no index of its own in any store.

A queue with a `rate` also gets back the starts of its last window
(`recent_starts`): the `RunDequeued` times, not older than one window, of
its open runs and of the runs closed within that window (`search` by
`closed_after`: a run that started in the window closed in it too). So a
restart grants no fresh burst.
"""

from __future__ import annotations

from dataclasses import dataclass

from aion_actors.core import AionError, RunKey, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.queues.order import Queued, QueueState
from aion_actors.store import EventStore, RunQuery, RunSummary


@dataclass(frozen=True, slots=True)
class Found:
    queued: Queued
    waiting: bool


def scan(store: EventStore, runs: list[RunSummary] | None = None) -> dict[str, list[Found]]:
    """Every open run (of `runs`, by default the store's) that came through a queue, by
    queue name, in enqueue order."""
    found: dict[str, list[Found]] = {}
    for run in store.open_runs() if runs is None else runs:
        try:
            first = store.read(run.workflow_id, run.run_id, 1, 2)
        except AionError:  # a damaged history: the run is parked by its own replay
            continue
        if len(first) < 2 or not isinstance(first[1], ev.WorkflowQueued):
            continue
        event = first[1]
        key = RunKey(run.workflow_id, run.run_id)
        item = Queued(key, event.key, event.priority, event.dedup_id, (event.recorded_at, 0))
        found.setdefault(event.queue, []).append(Found(item, run.status is WorkflowStatus.QUEUED))
    for items in found.values():
        items.sort(key=lambda f: (f.queued.order, f.queued.run))
    return found


def restore(state: QueueState, found: Found) -> None:
    """Put a run found in the store back where it was: waiting, or holding a slot."""
    item = found.queued
    if found.waiting:
        state.add(item)
        return
    state.claim(item.run, item.key)
    if item.dedup_id is not None:
        state.hold(item.dedup_id, item.run)


def recent_starts(store: EventStore, queue: str, found: list[Found], since: int) -> list[int]:
    """When the runs of `queue` that started after `since` (unix ns) started."""
    candidates = dict.fromkeys(item.queued.run for item in found if not item.waiting)
    for closed in store.search(RunQuery(closed_after=since)):
        candidates[RunKey(closed.workflow_id, closed.run_id)] = None
    times = []
    for run in candidates:
        try:
            events = store.read(run.workflow_id, run.run_id, 2)
        except AionError:
            continue
        if not events or not isinstance(events[0], ev.WorkflowQueued) or (events[0].queue != queue):
            continue
        at = next((e.recorded_at for e in events if isinstance(e, ev.RunDequeued)), None)
        if at is not None and at > since:
            times.append(at)
    return times
