"""What an operator does to a run: pause and unpause it, reset it to an earlier point.

`RunPaused` / `RunUnpaused` are supervision-like: replay skips them when
matching commands, and they change no command's outcome. They are lifecycle
events (the status is `paused` between them) that leave the run open
(`HOLDS_OPEN`). While the last of
them is `RunPaused`, the run records what reaches it (activity outcomes,
fired timers, signals) but its workflow code does not run. `WorkflowReset`
closes a run that an operator reset; `next_run_id` names the run that goes
on from `to_seq` of its history (that run's `WorkflowStarted.reset_from`
names this one back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aion_actors.core.events._base import Event


@dataclass(frozen=True, kw_only=True, slots=True)
class RunPaused(Event):
    """`engine.pause`: from here on the run's code does not run, and nothing new starts."""

    reason: str = ""
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class RunUnpaused(Event):
    """`engine.unpause`: the code runs again, on everything recorded while it was paused."""

    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowReset(Event):
    """`engine.reset` closed this open run; run `next_run_id` goes on from `to_seq`."""

    next_run_id: str
    to_seq: int
    reason: str = ""
    lifecycle: ClassVar[bool] = True
