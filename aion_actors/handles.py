"""What `Engine.start` and `Engine.describe` hand back: plain data and a thin handle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aion_actors.core import WorkflowStatus

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
    started_at: int
    ended_at: int | None
    waiting_for: str | None

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

    def result(self, timeout: float | None = None) -> Any:
        return self.engine.result(self.workflow_id, timeout=timeout)

    def describe(self) -> RunDescription:
        return self.engine.describe(self.workflow_id)

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once the run (and any continue-as-new successor) has ended.

        It runs in an engine thread and must be quick; it is called at once
        if the run has already ended. Use `result()` to learn how it ended.
        """
        self.engine._when_closed(self.workflow_id, self.run_id, callback)
