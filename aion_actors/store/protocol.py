"""What every event store offers, and the plain data it hands back.

`MemoryStore`, `LmdbStore` and `PostgresStore` implement `EventStore`, and each
passes the same conformance suite (tests/store/).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from aion_actors.core import AionError, Event, WorkflowStatus

if TYPE_CHECKING:
    from aion_actors.store._search import RunPage, RunQuery


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as the run index sees it, projected from its history."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: WorkflowStatus
    started_at: int
    ended_at: int | None
    head: int
    version: str
    restarts: int
    parent: dict[str, Any] | None
    #: the search attributes the run set (`ctx.set_attributes`), merged
    attributes: dict[str, Any] = field(default_factory=dict)


#: a workflow type's retention in ns (None: its closed runs are kept forever)
RetentionOf = Callable[[str], int | None]


@dataclass(frozen=True, slots=True)
class DueTimer:
    """A durable timer: which run it belongs to, its id and when it fires (unix ns)."""

    workflow_id: str
    run_id: str
    timer_id: str
    fire_at: int


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One caller's append inside `EventStore.append_batch`."""

    workflow_id: str
    run_id: str
    events: tuple[Event, ...]
    expected_seq: int
    #: a node's: the epoch of the run's partition its writer was made under; the append
    #: is refused once that tenure ended, even if the partition came back (see `NodeStore`)
    epoch: int | None = None


class AppendsInBatches:
    """`append` as a batch of one, for a store whose `append_batch` does the writing."""

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        raise NotImplementedError

    def append(
        self, workflow_id: str, run_id: str, events: Sequence[Event], expected_seq: int
    ) -> int:
        (result,) = self.append_batch(
            [AppendRequest(workflow_id, run_id, tuple(events), expected_seq)]
        )
        if isinstance(result, AionError):
            raise result
        return result[-1].seq if result else expected_seq


class EventStore(Protocol):
    """Durable, ordered histories of runs, with a run index and durable timers.

    Appends are all or nothing per run and carry `expected_seq`, so a second
    writer for a run gets `SequenceConflict` instead of a split history. The
    run index and the timers are projections of the events, written in the
    same transaction, so they always agree with history.
    """

    def append(
        self, workflow_id: str, run_id: str, events: Sequence[Event], expected_seq: int
    ) -> int:
        """Append `events` after seq `expected_seq` (0 creates the run); returns the new head."""
        ...

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        """Apply every request in order in one transaction; per request its events or its error."""
        ...

    def check_writable(self) -> None:
        """Write a little, durably: `StoreUnavailable` (`StoreFull`) while the store cannot."""
        ...

    def read(
        self, workflow_id: str, run_id: str, from_seq: int = 1, until: int | None = None
    ) -> list[Event]:
        """Events from `from_seq` to `until` (the head when None or past it); `[]` for
        an unknown run or past the head."""
        ...

    def head(self, workflow_id: str, run_id: str) -> int:
        """The last seq of the run, 0 when it has no events."""
        ...

    def get_run(self, workflow_id: str, run_id: str) -> RunSummary | None: ...

    def runs(
        self, status: WorkflowStatus | None = None, workflow_type: str | None = None
    ) -> list[RunSummary]:
        """Every run, filtered, in (workflow_id, run_id) order."""
        ...

    def search(self, query: RunQuery) -> RunPage:
        """The runs `query` matches, newest started first (ties by workflow_id, run_id),
        from after its cursor, at most its limit; see `store/_search.py`."""
        ...

    def open_runs(self) -> list[RunSummary]:
        """Runs that are running or parked."""
        ...

    def latest_run(self, workflow_id: str) -> RunSummary | None:
        """The most recently started run of `workflow_id`."""
        ...

    def schedule_timer(self, workflow_id: str, run_id: str, timer_id: str, fire_at: int) -> None:
        """Arm a timer at `fire_at` (unix ns); re-scheduling the same timer replaces it."""
        ...

    def cancel_timer(self, workflow_id: str, run_id: str, timer_id: str) -> None: ...

    def due_timers(self, as_of: int, limit: int | None = None) -> list[DueTimer]:
        """Timers with `fire_at <= as_of`, earliest first."""
        ...

    def next_timer(self) -> DueTimer | None:
        """The earliest timer, so a timer service can sleep until then instead of polling."""
        ...

    def expired_runs(
        self, as_of: int, retention_of: RetentionOf, limit: int | None = None
    ) -> list[RunSummary]:
        """Closed runs whose retention has passed by `as_of` (unix ns), earliest expiry first.

        A run's retention (`retention_of(workflow_type)`, ns) counts from its
        `ended_at`, or from its parent's when the parent closed later; a run
        whose parent is open is never listed, nor a type whose retention is None.
        """
        ...

    def next_expiry(self, retention_of: RetentionOf) -> int | None:
        """When the next closed run's retention passes (unix ns), so a pruner can sleep
        until then; None when no run would ever expire."""
        ...

    def delete_run(self, workflow_id: str, run_id: str) -> bool:
        """Delete a closed run whose parent is not open: its history, run index row,
        timers and every other index, in small transactions (the run is invisible after
        the first, and a store reopened after a crash finishes the deletion). False, with
        nothing deleted, for an open, referenced or unknown run."""
        ...

    def delete_runs(self, runs: Sequence[tuple[str, str]]) -> list[bool]:
        """`delete_run` for each (workflow_id, run_id), short runs sharing transactions;
        per run, whether it was deleted."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class WaitsOutOutages(Protocol):
    """A store whose reads wait out a server outage (PostgreSQL, for `retry_for` s)."""

    def closing(self) -> None:
        """The engine closes: a read that finds the server gone now gives up at once
        (`EngineClosed`) instead of holding the close up; writes still retry."""
        ...


def closing(store: EventStore) -> None:
    """Tell `store` its engine closes, if it has reads that wait out an outage."""
    if isinstance(store, WaitsOutOutages):
        store.closing()
