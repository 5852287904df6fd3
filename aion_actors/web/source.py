"""Where the dashboard reads from: a store opened read-only beside an engine (`aion-actors
ui`), or a live engine (`engine.dashboard_app()`), which also knows pids, residency and
counters, and may resume a parked run when the embedding app allows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aion_actors.store import EventStore

if TYPE_CHECKING:
    from aion_actors.engine import Engine
    from aion_actors.handles import RunDescription


@dataclass(frozen=True, slots=True)
class Live:
    """What only a running engine knows about a run."""

    pid: int | None
    residency: str
    waiting_for: str | None


class Source:
    """A store read without an engine: the durable truth, no pids, nothing writable."""

    def __init__(self, store: EventStore, label: str) -> None:
        self.store = store
        #: what the pages name as their subject (a directory or a database)
        self.label = label

    @property
    def engine_backed(self) -> bool:
        return False

    def live(self, workflow_id: str, run_id: str) -> Live | None:
        """Pid and residency of the run, when an engine serves the page; else None."""
        return None

    def stats(self) -> dict[str, int] | None:
        """`engine.stats()`, when an engine serves the page; else None."""
        return None

    def resume(self, workflow_id: str) -> None:
        raise PermissionError("this dashboard reads a store; only an engine resumes runs")


class EngineSource(Source):
    """A live engine's store, with what the engine adds."""

    def __init__(self, engine: Engine) -> None:
        where = getattr(engine.store, "path", None) or type(engine.store).__name__
        super().__init__(engine.store, str(where))
        self._engine = engine

    @property
    def engine_backed(self) -> bool:
        return True

    def live(self, workflow_id: str, run_id: str) -> Live | None:
        described: RunDescription = self._engine.describe(workflow_id)
        if described.run_id != run_id:
            return None  # an older run: closed, nothing live about it
        return Live(described.pid, described.residency, described.waiting_for)

    def stats(self) -> dict[str, int] | None:
        return self._engine.stats()

    def resume(self, workflow_id: str) -> None:
        self._engine.resume(workflow_id)
