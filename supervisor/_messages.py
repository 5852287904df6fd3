"""What a supervisor actor is sent: one frozen dataclass per kind of message.

Calls come from `Supervisor` (as ``ask``s, answered with the result), the rest are
``tell``s from other threads: `Adopt` from a `Supervisor.start_child` caller,
`RestartDue` from the backoff timer, and each child's `Incarnation` when it exits.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from supervisor._incarnation import Incarnation
from supervisor.spec import ChildSpec

__all__ = [
    "Adopt",
    "Call",
    "CountChildren",
    "DeleteChild",
    "Lookup",
    "RestartChild",
    "RestartDue",
    "StartChild",
    "TerminateChild",
    "WhichChildren",
]


@dataclass(frozen=True, slots=True)
class StartChild:
    """Add and start a child (processes and sub-supervisors, or a call with a bad spec)."""

    spec: ChildSpec


@dataclass(frozen=True, slots=True)
class TerminateChild:
    key: Hashable


@dataclass(frozen=True, slots=True)
class RestartChild:
    key: Hashable


@dataclass(frozen=True, slots=True)
class DeleteChild:
    key: Hashable


@dataclass(frozen=True, slots=True)
class WhichChildren:
    pass


@dataclass(frozen=True, slots=True)
class CountChildren:
    pass


@dataclass(frozen=True, slots=True)
class Lookup:
    key: Hashable


Call = (
    StartChild
    | TerminateChild
    | RestartChild
    | DeleteChild
    | WhichChildren
    | CountChildren
    | Lookup
)


@dataclass(frozen=True, slots=True)
class Adopt:
    """From `Supervisor.start_child`: the actor child it launched under a claimed key.

    Launching an actor waits for its ``on_start``; done in the caller's
    thread, starts proceed in parallel instead of queueing behind one another
    in the supervisor's, which only does the bookkeeping.
    """

    spec: ChildSpec
    inc: Incarnation


@dataclass(frozen=True, slots=True)
class RestartDue:
    """Timer message: start the children of a group restart whose backoff is over."""

    keys: tuple[Hashable, ...]
    token: int
    delay: float
