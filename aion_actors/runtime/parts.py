"""One await's parts and how committed history answers each.

The machine issues a part per command the coroutine awaits (one, or several
under `gather`/`wait_first`); `PartResolver` looks each up among the
committed outcomes and says at which event (seq) it landed and with what.
Nothing here records, runs workflow code, or moves the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from aion_actors.core import (
    ACTIVITY_TIMEOUT,
    PayloadConverter,
    PayloadError,
    WorkflowAlreadyStarted,
)
from aion_actors.core import events as ev
from aion_actors.core import payloads as conv
from aion_actors.runtime.arity import never_started
from aion_actors.runtime.commands import (
    ActivityCommand,
    ActivityError,
    ActivityTimeout,
    ChildCommand,
    ChildResultCommand,
    ChildWorkflowError,
    ConditionCommand,
    ConditionTimeout,
    ExternalCommand,
    ExternalWorkflowError,
    PartCommand,
    SignalTimeout,
    TimerCommand,
)
from aion_actors.runtime.recorded import Outcomes
from aion_actors.runtime.workflow_handles import ChildHandle

#: the error type of a child start refused because its workflow_id has an open run
_REFUSED = WorkflowAlreadyStarted.__name__


def _seq(event: ev.Event) -> int:
    return event.seq


class Resolution(NamedTuple):
    """Where and how a part landed: at event `seq`, with a value or an error (a
    NamedTuple: one per awaited step)."""

    seq: int
    recorded_at: int
    value: Any = None
    error: BaseException | None = None


@dataclass
class Part:
    """One outstanding await: an activity, timer, signal wait, child or condition."""

    command: PartCommand
    #: the outcome it waits for: activity id, timer id, signal name or child run id
    key: str
    #: the timeout timer of a signal wait or a condition; None when it has none
    timer_id: str | None = None
    #: a child's workflow_id, for its errors
    child_id: str = ""
    #: a condition's landing, set once (by the machine) when its predicate held
    satisfied: Resolution | None = None

    @property
    def own_timer(self) -> str | None:
        """The timer this part started, if any: cancelled when the part ends another way."""
        return self.key if isinstance(self.command, TimerCommand) else self.timer_id


class PartResolver:
    """Answers parts from the run's committed outcomes."""

    def __init__(
        self,
        outcomes: Outcomes,
        converter: PayloadConverter | None,
        handle: Callable[[str, str, Any], ChildHandle],
    ) -> None:
        self._outcomes = outcomes
        self._converter = converter
        #: makes the handle `ctx.start_child` resumes with: (workflow_id, run_id, returns)
        self._handle = handle

    def resolve(self, part: Part, taken: set[int]) -> Resolution | None:
        """How `part` landed, or None while history has no answer for it.

        A signal wait takes the oldest signal of its name not in `taken`, and
        adds it there.
        """
        command, outcomes = part.command, self._outcomes
        if isinstance(command, ActivityCommand):
            done = outcomes.activities.get(part.key)
            if done is None:
                return None
            if isinstance(done, ev.ActivityCompleted):
                return self._value(done, done.result, command.returns, f"activity {command.name!r}")
            timed_out = done.error.get("type") == ACTIVITY_TIMEOUT
            error = (ActivityTimeout if timed_out else ActivityError)(command.name, done.error)
            return Resolution(done.seq, done.recorded_at, error=error)
        if isinstance(command, ChildCommand) and command.handle:
            return self._child_started(part, command.returns)
        if isinstance(command, (ChildCommand, ChildResultCommand)):
            return self._child_outcome(part, command.returns)
        if isinstance(command, ExternalCommand):
            return self._external(part, command)
        if isinstance(command, TimerCommand):
            fired = outcomes.timers.get(part.key)
            if isinstance(fired, ev.TimerFired):
                return Resolution(fired.seq, fired.recorded_at)
            return None
        if isinstance(command, ConditionCommand):
            return part.satisfied or self._timed_out(part, ConditionTimeout, "wait_condition")
        return self._signal(part, taken)

    def _child_outcome(self, part: Part, returns: Any) -> Resolution | None:
        child = self._outcomes.children.get(part.key)
        if child is None:
            return None
        whose = part.child_id
        if isinstance(child, ev.ChildCompleted):
            return self._value(child, child.result, returns, f"child {whose!r}")
        return Resolution(
            child.seq, child.recorded_at, error=ChildWorkflowError(whose, child.error)
        )

    def _external(self, part: Part, command: ExternalCommand) -> Resolution | None:
        answered = self._outcomes.externals.get(part.key)
        if answered is None:
            return None
        if answered.error is None:
            return Resolution(answered.seq, answered.recorded_at)
        error = ExternalWorkflowError(command.workflow_id, command.action, answered.error)
        return Resolution(answered.seq, answered.recorded_at, error=error)

    def _child_started(self, part: Part, returns: Any) -> Resolution | None:
        """A handle once the child has started — or has already ended; a refusal (an id
        that has an open run, arguments that do not fit: it never started) is raised."""
        running = self._outcomes.children_running.get(part.key)
        ended = self._outcomes.children.get(part.key)
        first = min((e for e in (running, ended) if e is not None), key=_seq, default=None)
        if first is None:
            return None
        if isinstance(first, ev.ChildFailed) and (
            first.error.get("type") == _REFUSED or never_started(first.error)
        ):
            error = ChildWorkflowError(part.child_id, first.error)
            return Resolution(first.seq, first.recorded_at, error=error)
        handle = self._handle(part.child_id, part.key, returns)
        return Resolution(first.seq, first.recorded_at, value=handle)

    def _value(self, event: ev.Event, value: Any, hint: Any, whose: str) -> Resolution:
        """A result as the awaiting code's annotation asks; a decoding failure is raised there."""
        try:
            value = conv.decode(self._converter, value, hint, f"result of {whose}")
        except PayloadError as exc:
            return Resolution(event.seq, event.recorded_at, error=exc)
        return Resolution(event.seq, event.recorded_at, value=value)

    def _signal(self, part: Part, taken: set[int]) -> Resolution | None:
        """The oldest signal of the name not yet taken, or the timeout, whichever came first."""
        signal = self.oldest_signal(part.key, taken)
        timeout = self._timed_out(part, SignalTimeout, f"signal {part.key!r}")
        if signal is not None and (timeout is None or signal.seq < timeout.seq):
            taken.add(signal.seq)
            return Resolution(signal.seq, signal.recorded_at, value=signal.payload)
        return timeout

    def oldest_signal(self, name: str, taken: set[int]) -> ev.SignalReceived | None:
        received = self._outcomes.signals.get(name, ())
        return next((s for s in received if s.seq not in taken), None)

    def _timed_out(
        self, part: Part, error: type[SignalTimeout | ConditionTimeout], what: str
    ) -> Resolution | None:
        fired = self._outcomes.timers.get(part.timer_id) if part.timer_id else None
        if not isinstance(fired, ev.TimerFired):
            return None
        message = f"no {what} arrived within the timeout"
        if error is ConditionTimeout:
            message = "the condition of ctx.wait_condition was still false at its timeout"
        return Resolution(fired.seq, fired.recorded_at, error=error(message))
