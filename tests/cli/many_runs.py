"""Data directories with many runs at chosen start times, written through the real LmdbStore."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from aion_actors.store.protocol import AppendRequest

SECOND = 10**9


def write_runs(data: Path, starts: Sequence[int], *, batch: int = 1000) -> None:
    """Run i is `order-<i>`, started at `starts[i]` (unix ns); two in three have completed."""
    with LmdbStore(data, durability="nosync") as store:
        for first in range(0, len(starts), batch):
            requests = []
            for i in range(first, min(len(starts), first + batch)):
                at = starts[i]
                events: list[ev.Event] = [
                    ev.WorkflowStarted(
                        workflow_type="order",
                        input=i,
                        run_id=f"run{i}",
                        version="v1",
                        recorded_at=at,
                    )
                ]
                if i % 3:
                    events.append(ev.WorkflowCompleted(result=i, recorded_at=at + SECOND))
                requests.append(AppendRequest(f"order-{i:05}", f"run{i}", tuple(events), 0))
            store.append_batch(requests)


def write_long_run(data: Path, workflow_id: str, signals: int) -> None:
    """One open run whose history holds `signals` SignalReceived events after its start."""
    events: list[ev.Event] = [
        ev.WorkflowStarted(workflow_type="order", input=None, run_id="long", version="v1")
    ]
    events += [ev.SignalReceived(name="poke", payload={"n": n}) for n in range(signals)]
    with LmdbStore(data, durability="nosync") as store:
        store.append(workflow_id, "long", events, 0)
