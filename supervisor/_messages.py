"""What a supervisor actor is sent: one frozen dataclass per kind of message.

Calls come from `Supervisor` (as ``ask``s, answered with the result), the rest are
``tell``s from other threads: `RestartDue` from the backoff timer, and the
`Incarnation` of a child whose exit the supervisor must decide about. (A child a
`Supervisor.start_child` caller launched is not told: see `supervisor._adoption`.)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from supervisor.spec import ChildSpec

__all__ = [
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
class RestartDue:
    """Timer message: start the children of a group restart whose backoff is over."""

    keys: tuple[Hashable, ...]
    token: int
    delay: float
