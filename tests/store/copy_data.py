"""Stores for the copy tests, written through `append` as an engine would write them:
closed and open runs with search attributes and timers, parents whose children sort
before them (so a copy in id order would file the children's retention wrongly), and
a timer that no event records."""

from __future__ import annotations

import time

from aion_actors.core import events as ev
from aion_actors.store import EventStore

HOUR = 3600 * 10**9


def fill(store: EventStore, runs: int = 40, *, prefix: str = "w") -> None:
    """`runs` runs of `prefix`: every other one closed, the others waiting on a timer."""
    now = time.time_ns()
    for i in range(runs):
        events: list[ev.Event] = [
            ev.WorkflowStarted(workflow_type="order", input=[i], run_id="r1", version="v1"),
            ev.AttributesSet(attributes={"customer": f"c-{i % 3}", "n": i}),
            *[ev.SignalReceived(name="s", payload={"i": i, "k": k}) for k in range(3)],
        ]
        if i % 2:
            events.append(ev.WorkflowCompleted(result=i))
        else:
            events.append(ev.TimerStarted(timer_id="wake", fire_at=now + HOUR + i))
        store.append(f"{prefix}{i:03}", "r1", events, 0)


def family(store: EventStore) -> None:
    """`z-open` (open) with its closed child `a-kid`; `z-done` (closed) with its closed
    child `b-kid`, which ended first; and a timer set apart from events on `z-open`."""
    for parent in ("z-open", "z-done"):
        store.append(parent, "p1", [_started("parent", "p1")], 0)
    for kid, parent in (("a-kid", "z-open"), ("b-kid", "z-done")):
        link = {"workflow_id": parent, "run_id": "p1"}
        store.append(kid, "k1", [_started("kid", "k1", link), ev.WorkflowCompleted(result=kid)], 0)
    store.append("z-done", "p1", [ev.WorkflowCompleted(result="done")], 1)
    store.schedule_timer("z-open", "p1", "apart", time.time_ns() + HOUR)


def _started(workflow_type: str, run_id: str, parent: dict[str, str] | None = None) -> ev.Event:
    return ev.WorkflowStarted(
        workflow_type=workflow_type, input=[], run_id=run_id, version="v1", parent=parent
    )
