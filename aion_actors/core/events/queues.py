"""How a run waits in a queue (`engine.enqueue`) before its code runs.

A queued run opens like any other (`WorkflowStarted`, so its input, type
and timeouts are where every reader looks), then `WorkflowQueued` holds its
code, as `RunPaused` does: the run records what reaches it (signals, cancel,
terminate) but its code does not run. `RunDequeued` lets it run, on
everything recorded meanwhile. Both are lifecycle events that leave the run
open (`HOLDS_OPEN`); the status is `queued` between them. A run that found a
free slot when it was enqueued records all three in its first commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aion_actors.core.events._base import Event


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowQueued(Event):
    """`engine.enqueue`: the run waits in queue `queue` for a slot (its `key`'s, if given)."""

    queue: str
    key: str | None = None
    priority: int = 0
    dedup_id: str | None = None
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class RunDequeued(Event):
    """Its queue gave the run a slot: its code runs from here on."""

    lifecycle: ClassVar[bool] = True
