"""`TimerId`: what a durable timer is for — the one place its on-disk id is built and read.

History and the timer index key timers by a string (part of the on-disk
format): `sleep:<n>` (`ctx.sleep`, the n-th command), `signal:<name>:<n>`
(a `wait_signal` timeout), `retry:<activity_id>` (the wait before an
activity's next attempt), `deadline:<activity_id>` (`ctx.activity(timeout=)`),
`attempt:<activity_id>` (the `@activity(timeout=)` of a handed-off attempt, set by
its `ActivityHandedOff`; one activity has one attempt open at a time) and
`timeout:execution` / `timeout:run` (a workflow's own deadlines, set by its
`WorkflowStarted`).
Everything else handles the parsed value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TimerKind(enum.StrEnum):
    SLEEP = "sleep"
    SIGNAL = "signal"
    RETRY = "retry"
    DEADLINE = "deadline"
    ATTEMPT = "attempt"
    CONDITION = "condition"
    TIMEOUT = "timeout"


class WorkflowTimeout(enum.StrEnum):
    """Which of a workflow's deadlines a `timeout:` timer stands for."""

    EXECUTION = "execution"  #: the whole workflow_id chain, continue-as-new included
    RUN = "run"  #: one run


@dataclass(frozen=True, slots=True)
class TimerId:
    kind: TimerKind
    #: the command number (sleep, signal, condition), the activity id (retry, deadline,
    #: attempt) or which workflow timeout (timeout)
    ref: str
    #: the signal's name for a signal timeout; "" for the others
    name: str = ""

    @classmethod
    def sleep(cls, command: int) -> TimerId:
        return cls(TimerKind.SLEEP, str(command))

    @classmethod
    def signal(cls, name: str, command: int) -> TimerId:
        return cls(TimerKind.SIGNAL, str(command), name)

    @classmethod
    def condition(cls, command: int) -> TimerId:
        return cls(TimerKind.CONDITION, str(command))

    @classmethod
    def retry(cls, activity_id: str) -> TimerId:
        return cls(TimerKind.RETRY, activity_id)

    @classmethod
    def deadline(cls, activity_id: str) -> TimerId:
        return cls(TimerKind.DEADLINE, activity_id)

    @classmethod
    def attempt(cls, activity_id: str) -> TimerId:
        return cls(TimerKind.ATTEMPT, activity_id)

    @classmethod
    def timeout(cls, which: WorkflowTimeout) -> TimerId:
        return cls(TimerKind.TIMEOUT, which.value)

    @classmethod
    def parse(cls, text: str) -> TimerId:
        """The timer an on-disk id names; `ValueError` naming it if it names none."""
        kind, _, rest = text.partition(":")
        if kind == TimerKind.SIGNAL:
            name, _, command = rest.rpartition(":")
            if name and command:
                return cls(TimerKind.SIGNAL, command, name)
        elif kind == TimerKind.TIMEOUT:
            if rest in WorkflowTimeout.__members__.values():
                return cls(TimerKind.TIMEOUT, rest)
        elif kind in TimerKind.__members__.values() and rest:
            return cls(TimerKind(kind), rest)
        raise ValueError(
            f"timer id {text!r} is none of sleep:<n>, signal:<name>:<n>, condition:<n>, "
            "retry:<activity_id>, deadline:<activity_id>, attempt:<activity_id>, "
            "timeout:<execution|run>"
        )

    def __str__(self) -> str:
        if self.kind is TimerKind.SIGNAL:
            return f"signal:{self.name}:{self.ref}"
        return timer_text(self.kind, self.ref)


def timer_text(kind: TimerKind, ref: str) -> str:
    """`str(TimerId(kind, ref))` of a sleep, retry, deadline or attempt timer, on paths that run
    for every event and need only the text."""
    return kind.value + ":" + ref
