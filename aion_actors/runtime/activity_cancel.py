"""What a workflow's cancellation asks of the activities its await is waiting on.

When the machine is about to throw `Cancelled` into a workflow blocked on
activities, each activity still running is treated by its `@activity(cancel=)`:

- "try" (the default): `ActivityCancelRequested` is recorded (the actor then
  tells the attempt) and `Cancelled` is raised at once;
- "wait": the request is recorded too, but `Cancelled` is raised only once
  the activity has ended (acknowledged, completed or failed) — at its end in
  history, so a replay raises it at the same point;
- "abandon": nothing is recorded or told; `Cancelled` is raised at once.

Replay decides from history: a recorded request carries its mode, so a
changed `cancel=` cannot change a decision already taken. An activity that
had ended before the cancel is not asked anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aion_actors.core import events as ev
from aion_actors.runtime.commands import ActivityCommand
from aion_actors.runtime.recorded import Outcomes
from aion_actors.workers import CancelReason

#: an activity's `cancel=` mode, by its name ("try" for one not registered)
ModeOf = Callable[[str], str]


class _Part(Protocol):
    command: Any
    #: the activity id, for an activity's part
    key: str


class ActivityCancels:
    def __init__(self, mode_of: ModeOf | None = None) -> None:
        self._mode_of = mode_of or (lambda _name: "try")

    def hold(
        self,
        cancel: ev.WorkflowCancelRequested,
        waiting: Sequence[_Part],
        outcomes: Outcomes,
        out: list[ev.Event],
    ) -> tuple[int, int] | None:
        """Ask the running activities among `waiting` to cancel (appending to `out` the
        requests not recorded yet). Returns `(recorded_at, seq)` to raise `Cancelled` at,
        or None while an activity with cancel="wait" still runs."""
        at, running = (cancel.recorded_at, cancel.seq), False
        for part in waiting:
            if self._request(part, outcomes, out, CancelReason.WORKFLOW_CANCELLED) != "wait":
                continue
            done = outcomes.activities.get(part.key)
            if done is None:
                running = True
            elif done.seq > at[1]:
                at = (max(at[0], done.recorded_at), done.seq)
        return None if running else at

    def losers(self, waiting: Sequence[_Part], outcomes: Outcomes, out: list[ev.Event]) -> None:
        """`wait_first` ended: ask its losing activities to cancel, as their `cancel=`
        says; it resumes at once, whatever the mode (it waits for no acknowledgement)."""
        for part in waiting:
            self._request(part, outcomes, out, CancelReason.LOST_WAIT_FIRST)

    def _request(
        self, part: _Part, outcomes: Outcomes, out: list[ev.Event], reason: CancelReason
    ) -> str | None:
        """Record the cancellation of `part`'s activity if it still runs and none was;
        its mode, None for a part that is no activity."""
        command = part.command
        if not isinstance(command, ActivityCommand):
            return None
        requested = outcomes.activity_cancels.get(part.key)
        mode = requested.mode if requested is not None else self._mode_of(command.name)
        done = outcomes.activities.get(part.key)
        if requested is None and done is None and mode != "abandon":
            request = ev.ActivityCancelRequested(activity_id=part.key, mode=mode, reason=reason)
            out.append(request)
        return mode
