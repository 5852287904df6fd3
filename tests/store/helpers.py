"""Events and checks shared by the store tests."""

from __future__ import annotations

from typing import Any

from aion_actors.core import Event
from aion_actors.core import events as ev


def started(
    workflow_type: str = "checkout", *, run_id: str = "r1", parent: dict[str, Any] | None = None
) -> Event:
    return ev.WorkflowStarted(
        workflow_type=workflow_type, input={"n": 1}, run_id=run_id, version="v1", parent=parent
    )


def signals(count: int, *, batch: int = 0) -> list[Event]:
    return [ev.SignalReceived(name="s", payload={"batch": batch, "i": i}) for i in range(count)]


def seqs(events: list[Event]) -> list[int]:
    return [e.seq for e in events]
