"""Child workflows, as their parent records them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aion_actors.core.events._base import ErrorInfo, Event

# Children


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildStarted(Event):
    child_workflow_id: str
    child_run_id: str
    workflow_type: str
    #: the child's arguments, so a parent recovering from a crash between this
    #: event and the child's WorkflowStarted can still start the child.
    input: Any = None
    #: "cancel" (default): cancelling the parent cancels this child; "abandon": it runs on.
    on_parent_close: str = "cancel"
    #: the child's timeouts (see `WorkflowStarted`): its chain's deadline, set by the
    #: parent's clock when it issued the command, and the timeout of each of its runs
    execution_deadline: int | None = None
    run_timeout: float | None = None
    #: from `ctx.start_child`: the parent records `ChildRunStarted` once the child has started
    confirm: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildRunStarted(Event):
    """The child a `ChildStarted` (with `confirm`) asked for has started."""

    child_workflow_id: str
    child_run_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildCompleted(Event):
    child_workflow_id: str
    child_run_id: str
    result: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildFailed(Event):
    child_workflow_id: str
    child_run_id: str
    error: ErrorInfo
