"""The coroutines one run's machine drives, and how each one's await ends.

A run has one workflow coroutine and, while async update handlers run, one
coroutine per handler. Each `Task` holds its coroutine's await state: the
parts it is blocked on and how its await combines them. All of them issue
commands into the run's one positional command sequence, so the order in
which the machine resumes them decides what a replay must match: the machine
resumes, among the blocked tasks, the one whose await history ends first
(`done_seq`), the workflow's coroutine before handlers on a tie, and a
handler's own at its `UpdateAccepted`'s place.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aion_actors.core import events as ev
from aion_actors.runtime.commands import (
    ActivityCommand,
    ConditionCommand,
    GatherCommand,
    PartCommand,
    WaitFirstCommand,
)
from aion_actors.runtime.parts import Part, Resolution
from aion_actors.runtime.recorded import Outcomes

NEVER = 1 << 62

Mode = Literal["one", "gather", "gather_all", "first"]
Step = tuple[str, Any]


@dataclass(eq=False)
class Task:
    """One coroutine and the await it is blocked on."""

    coro: Coroutine[Any, Any, Any]
    #: the update whose handler this is; None for the workflow's own coroutine
    update: ev.UpdateAccepted | None = None
    #: the parts of the await the coroutine is blocked on; None while it runs
    waiting: list[Part] | None = None
    #: how the blocked await combines its parts
    mode: Mode = "one"
    #: the blocked await has conditions not yet checked where it was issued
    unchecked: bool = False

    def block(self, parts: list[Part], mode: Mode) -> None:
        self.waiting, self.mode = parts, mode
        self.unchecked = any([isinstance(p.command, ConditionCommand) for p in parts])


class WaitTimers:
    """The timers of waits that ended another way (a signal, a condition, a winner of
    `wait_first`, or a cancel): each cancelled once, unless it fired first."""

    def __init__(self, outcomes: Outcomes) -> None:
        self._outcomes = outcomes
        self._closed: set[str] = set()

    def close(
        self,
        task: Task,
        out: list[ev.Event],
        resolutions: list[Resolution | None],
        *,
        losers_too: bool,
    ) -> None:
        """Cancel the timers of `task`'s await: of the parts that landed without an error,
        and of those that did not land too if `losers_too`."""
        assert task.waiting is not None
        for part, resolution in zip(task.waiting, resolutions, strict=True):
            timer_id = part.own_timer
            if timer_id is None or timer_id in self._closed:
                continue
            if timer_id in self._outcomes.timers:
                continue
            if losers_too or (resolution is not None and resolution.error is None):
                self._closed.add(timer_id)
                out.append(ev.TimerCancelled(timer_id=timer_id))


def lone_activity(tasks: list[Task], outcomes: Outcomes) -> Part | None:
    """The one activity that the run's only coroutine awaits alone, when nothing in
    history can come before it (no cancel, signal or update): the common step, which
    the machine resolves without searching every await (it lands where it lands)."""
    if len(tasks) != 1 or outcomes.cancel or outcomes.ordered_signals or outcomes.updates:
        return None
    task = tasks[0]
    waiting = task.waiting
    if waiting is None or len(waiting) != 1 or task.mode != "one" or task.unchecked:
        return None
    part = waiting[0]
    return part if type(part.command) is ActivityCommand and part.timer_id is None else None


def awaited(yielded: Any) -> tuple[Sequence[PartCommand], Mode] | None:
    """The commands a yielded value awaits and how; None if it is not a ctx command."""
    if isinstance(yielded, GatherCommand):
        return yielded.parts, "gather_all" if yielded.return_exceptions else "gather"
    if isinstance(yielded, WaitFirstCommand):
        return yielded.parts, "first"
    if isinstance(yielded, PartCommand):
        return (yielded,), "one"
    return None


def done_seq(mode: Mode, resolutions: list[Resolution | None]) -> int:
    """The seq at which an await ends, as its mode combines the parts' landings."""
    if len(resolutions) == 1:  # the common await: one command
        return NEVER if (only := resolutions[0]) is None else only.seq
    seqs = [r.seq for r in resolutions if r is not None]
    if mode == "first":
        return min(seqs, default=NEVER)
    failed = [r.seq for r in resolutions if r is not None and r.error is not None]
    if mode == "gather" and failed:
        return min(failed)  # as asyncio.gather: the first failure, in history's order
    return NEVER if None in resolutions else max(seqs, default=NEVER)


def outcome(mode: Mode, resolutions: list[Resolution | None], done: int) -> Step:
    """What resumes the coroutine once its await ended at `done` with these landings."""
    landed = [r for r in resolutions if r is not None]
    if mode == "first":
        index, first = next(
            (i, r) for i, r in enumerate(resolutions) if r is not None and r.seq == done
        )
        return ("throw", first.error) if first.error else ("send", (index, first.value))
    if mode == "gather_all":
        return ("send", [r.error if r.error is not None else r.value for r in landed])
    for r in sorted(landed, key=lambda r: r.seq):
        if r.error is not None:
            return ("throw", r.error)
    values = [r.value for r in landed]
    return ("send", values if mode == "gather" else values[0])
