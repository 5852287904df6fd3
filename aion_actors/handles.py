"""What `Engine.start` and `Engine.describe` hand back: plain data and a thin handle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aion_actors.core import Event, WorkflowStatus

if TYPE_CHECKING:
    from aion_actors.engine import Engine


@dataclass(frozen=True)
class RunDescription:
    """What `Engine.describe` reports about a workflow's latest run."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: WorkflowStatus
    pid: int | None
    residency: str
    restarts: int
    version: str
    registered_version: str | None
    started_at: datetime
    #: None while the run is open
    ended_at: datetime | None
    #: why the run cannot go on yet (a workflow type or activity not registered), if so
    waiting_for: str | None
    #: the event that closed the run — `WorkflowCompleted` (`.result`), `WorkflowFailed`
    #: (`.error`), `WorkflowCancelled`, ... — or None while it is open
    outcome: Event | None = None

    @property
    def version_changed(self) -> bool:
        """True when the registered code differs from the version this run started with."""
        return self.registered_version is not None and self.registered_version != self.version


@dataclass(frozen=True)
class RunHandle:
    """A started run; `result()` waits for it (following continue-as-new)."""

    engine: Engine
    workflow_id: str
    run_id: str

    def result(self, timeout: float | None = None, *, raise_on_park: bool = True) -> Any:
        """Wait for the result (see `Engine.result`): `WorkflowFailed` if the run failed,
        `WorkflowParked` if it is parked, `TimeoutError` after `timeout` seconds."""
        return self.engine.result(
            self.workflow_id, self.run_id, timeout=timeout, raise_on_park=raise_on_park
        )

    def describe(self) -> RunDescription:
        return self.engine.describe(self.workflow_id)

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once the run (and any continue-as-new successor) has ended.

        It runs in an engine thread and must be quick; it is called at once
        if the run has already ended. Use `result()` to learn how it ended.
        """
        self.engine.when_closed(self.workflow_id, callback, run_id=self.run_id)
