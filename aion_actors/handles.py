"""What `Engine.start` and `Engine.describe` hand back: plain data and a thin handle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aion_actors.core import (
    Event,
    RunKey,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowStatus,
    WorkflowTimedOut,
    status_from_events,
)
from aion_actors.core import events as ev
from aion_actors.runtime.runs import Whereabouts
from aion_actors.store import RunSummary
from aion_actors.store.postgres.nodeview import Ownership

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
    #: when the run times out (the earlier of its `execution_timeout` and `run_timeout`
    #: deadlines), or None if it has no timeout
    timeout_at: datetime | None = None
    #: the patches the run has taken (`ctx.patched` answered True and recorded
    #: `PatchApplied`), in the order it took them; () when its history cannot be read
    patches: tuple[str, ...] = ()
    #: the run's search attributes (`ctx.set_attributes`), merged
    attributes: dict[str, Any] = field(default_factory=dict)
    #: what its starter attached (`engine.start(..., memo=...)`), None if nothing
    memo: dict[str, Any] | None = None
    #: on a PostgreSQL store: the node whose live lease holds the run's partition (where an
    #: open run's actor lives), None when no live lease holds it (it moves) — and on LMDB
    owner: str | None = None
    #: on a PostgreSQL store: the run's partition (`crc32(workflow_id) % partitions`)
    partition: int | None = None

    @property
    def version_changed(self) -> bool:
        """True when the registered code differs from the version this run started with."""
        return self.registered_version is not None and self.registered_version != self.version

    @classmethod
    def of(
        cls,
        run: RunSummary,
        where: Whereabouts,
        registered_version: str | None,
        outcome: Event | None,
        timeout_at: int | None = None,
        patches: tuple[str, ...] = (),
        memo: dict[str, Any] | None = None,
        owned: Ownership | None = None,
    ) -> RunDescription:
        """The store's view of a run (which wins: the run table may lag a moment) with
        what only its engine knows (pid, residency, why it waits)."""
        if run.status == WorkflowStatus.PARKED:
            residency = "parked"
        elif run.status.is_terminal:
            residency = "evicted"
        else:
            residency = str(where.residency)
        return cls(
            workflow_id=run.workflow_id,
            run_id=run.run_id,
            workflow_type=run.workflow_type,
            status=run.status,
            pid=where.pid if residency == "resident" else None,
            residency=residency,
            restarts=run.restarts,
            version=run.version,
            registered_version=registered_version,
            started_at=_datetime(run.started_at),
            ended_at=None if run.ended_at is None else _datetime(run.ended_at),
            waiting_for=None if run.status.is_terminal else where.waiting_for,
            outcome=outcome,
            timeout_at=None if timeout_at is None else _datetime(timeout_at),
            patches=patches,
            attributes=run.attributes,
            memo=memo,
            owner=owned.owner if owned else None,
            partition=owned.partition if owned else None,
        )


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


def _datetime(ns: int) -> datetime:
    """The microsecond `ns` falls in (exactly: `list_runs` reads it back as that one)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_FAILURES: dict[WorkflowStatus, type[WorkflowFailed]] = {
    WorkflowStatus.CANCELLED: WorkflowCancelled,
    WorkflowStatus.TIMED_OUT: WorkflowTimedOut,
}


def result_of(key: RunKey, closing: Event) -> Any:
    """A closed run's result, or the `WorkflowFailed` (`WorkflowCancelled`,
    `WorkflowTimedOut`) it ended with."""
    if isinstance(closing, ev.WorkflowCompleted):
        return closing.result
    status = status_from_events((closing,))
    error = getattr(closing, "error", None) or {
        "type": closing.kind,
        "message": getattr(closing, "reason", "") or status.value,
    }
    failed = _FAILURES.get(status, WorkflowFailed)
    raise failed(key.workflow_id, key.run_id, status.value, error)
