"""Handles workflow code holds to other workflows: a child it started, or any run by id.

Each method returns a command to await; none acts by itself. A signal or a
cancel is recorded in this workflow's history first (`ExternalRequested`),
then applied to the target exactly once — the target records it with the
request's id, and a request taken again after a crash finds it there — and
the await resumes once the target has recorded it (`ExternalRequestDone`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aion_actors.core import check_signal_name
from aion_actors.runtime.commands import ChildResultCommand, ExternalCommand, Measured

C = TypeVar("C")


class Noting(Protocol):
    """Notes a command made and returns it (`runtime.unawaited`)."""

    def __call__(self, command: C) -> C: ...


def as_is(command: C) -> C:
    """Notes nothing (a context that never warns; a handle made without a context)."""
    return command


@dataclass(frozen=True)
class ExternalHandle:
    """Another workflow, by id: its open run when the request is applied, or `run_id`."""

    workflow_id: str
    run_id: str | None
    #: checks (and converts) a payload before it is recorded, naming what it is; measures it
    _check: Callable[[Any, str], tuple[Any, Measured]]
    #: notes a command made, for a warning should it never be awaited (`runtime.unawaited`)
    _made: Noting = as_is

    @property
    def _target_run(self) -> str | None:
        """The run a signal or cancel is for (None: the open one)."""
        return self.run_id

    def signal(self, name: str, payload: Any = None) -> ExternalCommand:
        """Send signal `name`; resumes once the target has recorded it, or raises
        `ExternalWorkflowError` if it has no open run to take it."""
        check_signal_name(name)
        payload, measured = self._check(payload, f"signal {name!r} payload")
        run_id = self._target_run
        return self._made(
            ExternalCommand("signal", self.workflow_id, run_id, name, payload, measured=measured)
        )

    def cancel(self, reason: str = "") -> ExternalCommand:
        """Ask the target to cancel (its current await raises `Cancelled`); resumes once
        the request is recorded, not when the target has ended."""
        command = ExternalCommand("cancel", self.workflow_id, self._target_run, reason=str(reason))
        return self._made(command)


@dataclass(frozen=True)
class ChildHandle(ExternalHandle):
    """A child started with `ctx.start_child`: signal it, cancel it, await its result.

    `run_id` is the child's first run; `signal` and `cancel` reach its open
    run, which is a later one if it continued-as-new.
    """

    #: the child workflow's return annotation, for the payload converter
    _returns: Any = None

    def result(self) -> ChildResultCommand:
        """Its result, or `ChildWorkflowError` if it failed, was cancelled or terminated."""
        assert self.run_id is not None
        return self._made(ChildResultCommand(self.workflow_id, self.run_id, self._returns))

    @property
    def _target_run(self) -> str | None:
        """Its open run: a child that continued-as-new has a new run_id."""
        return None
