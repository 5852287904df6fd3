"""A queue's state from the store: its runs that are still open, read when it is registered.

The open runs whose second event is `WorkflowQueued` belong to a queue: one
still `queued` waits again, in its enqueue order (the time its
`WorkflowQueued` was recorded); any other open one (running, paused,
parked) holds a slot of its queue and key until it closes. So the limits
hold across an engine restart. Derived from `open_runs()` and the first two
events of each open run, read once per engine, when the first queue is
registered — no index of its own in any store.
"""

from __future__ import annotations

from dataclasses import dataclass

from aion_actors.core import AionError, RunKey, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.queues.order import Queued, QueueState
from aion_actors.store import EventStore


@dataclass(frozen=True, slots=True)
class Found:
    queued: Queued
    waiting: bool


def scan(store: EventStore) -> dict[str, list[Found]]:
    """Every open run that came through a queue, by queue name, in enqueue order."""
    found: dict[str, list[Found]] = {}
    for run in store.open_runs():
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
        state.dedup[item.dedup_id] = item.run
