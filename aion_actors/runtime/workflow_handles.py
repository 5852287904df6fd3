"""Handles workflow code holds to other workflows: a child it started, or any run by id.

Each method returns a command to await; none acts by itself. A signal or a
cancel is recorded in this workflow's history first (`ExternalRequested`),
then applied to the target exactly once — the target records it with the
request's id, and a request taken again after a crash finds it there — and
the await resumes once the target has recorded it (`ExternalRequestDone`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aion_actors.core import check_signal_name
from aion_actors.runtime.commands import ChildResultCommand, ExternalCommand, Measured


@dataclass(frozen=True)
class ExternalHandle:
    """Another workflow, by id: its open run when the request is applied, or `run_id`."""

    workflow_id: str
    run_id: str | None
    #: checks (and converts) a payload before it is recorded, naming what it is; measures it
    _check: Callable[[Any, str], tuple[Any, Measured]]

    def signal(self, name: str, payload: Any = None) -> ExternalCommand:
        """Send signal `name`; resumes once the target has recorded it, or raises
        `ExternalWorkflowError` if it has no open run to take it."""
        check_signal_name(name)
        payload, measured = self._check(payload, f"signal {name!r} payload")
        return ExternalCommand(
            "signal", self.workflow_id, self.run_id, name, payload, measured=measured
        )

    def cancel(self, reason: str = "") -> ExternalCommand:
        """Ask the target to cancel (its current await raises `Cancelled`); resumes once
        the request is recorded, not when the target has ended."""
        return ExternalCommand("cancel", self.workflow_id, self.run_id, reason=str(reason))


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
        return ChildResultCommand(self.workflow_id, self.run_id, self._returns)

    def signal(self, name: str, payload: Any = None) -> ExternalCommand:
        return _open_run(super().signal(name, payload))

    def cancel(self, reason: str = "") -> ExternalCommand:
        return _open_run(super().cancel(reason))


def _open_run(command: ExternalCommand) -> ExternalCommand:
    """Aimed at the workflow's open run: a child that continued-as-new has a new run_id."""
    return dataclasses.replace(command, run_id=None)
