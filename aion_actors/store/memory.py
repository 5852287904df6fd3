"""`MemoryStore`: the reference `EventStore`, in dicts behind one lock.

It keeps events and index entries encoded, exactly as a durable store
would, so payload checks, copies and the codec's round trip behave the same;
only durability is missing. Use it for unit tests, not for anything that must survive.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from aion_actors.core import (
    AionError,
    EngineClosed,
    Event,
    SequenceConflict,
    WorkflowStatus,
    check_id,
    decode_event,
    packb,
    unpackb,
)
from aion_actors.core.closing import CloseOnExit
from aion_actors.store import _projection as proj
from aion_actors.store._search import RunPage, RunQuery, page, sort_key
from aion_actors.store.protocol import (
    AppendRequest,
    AppendsInBatches,
    DueTimer,
    RetentionOf,
    RunSummary,
)

_Run = tuple[str, str]


class MemoryStore(AppendsInBatches, CloseOnExit):
    """An `EventStore` that lives and dies with the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock = proj.Clock()
        self._events: dict[_Run, list[bytes]] = {}
        self._summaries: dict[_Run, bytes] = {}
        self._timers: dict[tuple[str, str, str], int] = {}
        #: closed runs whose parent is not open: when their retention starts (unix ns)
        self._freed: dict[_Run, int] = {}
        #: open parent → its closed children, freed when it closes
        self._waiting: dict[_Run, set[_Run]] = {}
        self._closed = False

    def check_writable(self) -> None:
        """Memory can always take a write."""
        with self._lock:
            self._check_open()

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        with self._lock:
            self._check_open()
            results: list[list[Event] | AionError] = []
            for request in requests:
                prepared = proj.prepare(request, self._clock())
                if isinstance(prepared, AionError):
                    results.append(prepared)
                else:
                    results.append(self._apply(prepared))
            return results

    def _apply(self, prepared: proj.Prepared) -> list[Event] | AionError:
        run = (prepared.workflow_id, prepared.run_id)
        stored = self._summaries.get(run)
        summary = unpackb(stored) if stored else None
        head = summary["head"] if summary else 0
        if head != prepared.expected_seq:
            return SequenceConflict(prepared.expected_seq, head, workflow_id=run[0], run_id=run[1])
        if (closed := proj.closed_to(summary, prepared)) is not None:
            return closed
        if not prepared.events:
            return []
        if summary is None:
            summary = proj.new_summary(*run, prepared.events[0])
        self._events.setdefault(run, []).extend(prepared.encoded)
        ops = proj.fold(summary, prepared.events)
        self._summaries[run] = packb(summary)
        if summary["ended_at"] is not None:
            self._closed_now(run, summary)
        for op, timer_id, fire_at in ops:
            if op == proj.SCHEDULE:
                self._timers[(*run, timer_id)] = fire_at
            elif op == proj.CANCEL:
                self._timers.pop((*run, timer_id), None)
            else:
                for key in [key for key in self._timers if key[:2] == run]:
                    del self._timers[key]
        return prepared.events

    def read(
        self, workflow_id: str, run_id: str, from_seq: int = 1, until: int | None = None
    ) -> list[Event]:
        proj.run_key(workflow_id, run_id)
        start = max(from_seq, 1)
        with self._lock:
            self._check_open()
            stored = self._events.get((workflow_id, run_id), [])[start - 1 : until]
        return [
            decode_event(data, workflow_id=workflow_id, run_id=run_id, seq=seq)
            for seq, data in enumerate(stored, start)
        ]

    def head(self, workflow_id: str, run_id: str) -> int:
        summary = self.get_run(workflow_id, run_id)
        return summary.head if summary else 0

    def get_run(self, workflow_id: str, run_id: str) -> RunSummary | None:
        proj.run_key(workflow_id, run_id)
        with self._lock:
            self._check_open()
            stored = self._summaries.get((workflow_id, run_id))
        return proj.to_summary(unpackb(stored), workflow_id, run_id) if stored else None

    def runs(
        self, status: WorkflowStatus | None = None, workflow_type: str | None = None
    ) -> list[RunSummary]:
        with self._lock:
            self._check_open()
            found = [
                proj.to_summary(unpackb(self._summaries[run]), *run)
                for run in sorted(self._summaries)
            ]
        return proj.matching(found, status, workflow_type)

    def search(self, query: RunQuery) -> RunPage:
        """See `EventStore.search`: every summary, sorted and filtered (a scan)."""
        return page(query, sorted(self.runs(), key=sort_key))

    def open_runs(self) -> list[RunSummary]:
        return [s for s in self.runs() if not s.status.is_terminal]

    def latest_run(self, workflow_id: str) -> RunSummary | None:
        check_id(workflow_id, "workflow_id")
        mine = [s for s in self.runs() if s.workflow_id == workflow_id]
        return max(mine, key=lambda s: (s.started_at, s.run_id), default=None)

    def schedule_timer(self, workflow_id: str, run_id: str, timer_id: str, fire_at: int) -> None:
        proj.timer_key(proj.run_key(workflow_id, run_id), timer_id)
        proj.check_time(fire_at, "fire_at")
        with self._lock:
            self._check_open()
            self._timers[(workflow_id, run_id, timer_id)] = fire_at

    def cancel_timer(self, workflow_id: str, run_id: str, timer_id: str) -> None:
        proj.timer_key(proj.run_key(workflow_id, run_id), timer_id)
        with self._lock:
            self._check_open()
            self._timers.pop((workflow_id, run_id, timer_id), None)

    def due_timers(self, as_of: int, limit: int | None = None) -> list[DueTimer]:
        with self._lock:
            self._check_open()
            due = sorted(
                (fire_at, key) for key, fire_at in self._timers.items() if fire_at <= as_of
            )
        return [DueTimer(*key, fire_at) for fire_at, key in due[:limit]]

    def next_timer(self) -> DueTimer | None:
        with self._lock:
            self._check_open()
            first = min(((at, key) for key, at in self._timers.items()), default=None)
        return DueTimer(*first[1], first[0]) if first else None

    # Retention (the contract is `_lmdb_prune`'s)

    def _closed_now(self, run: _Run, summary: proj.Summary) -> None:
        parent = self._parent(summary)
        if parent is not None and parent["status"] in proj.OPEN:
            link = summary["parent"]
            self._waiting.setdefault((link["workflow_id"], link["run_id"]), set()).add(run)
        else:
            ended = parent["ended_at"] if parent is not None else None
            self._freed[run] = max(summary["ended_at"], ended or 0)
        for child in self._waiting.pop(run, ()):  # children that waited for this run
            child_ended = unpackb(self._summaries[child])["ended_at"]
            self._freed[child] = max(child_ended, summary["ended_at"])

    def _parent(self, summary: proj.Summary) -> proj.Summary | None:
        link = summary.get("parent")
        if not isinstance(link, dict):
            return None
        stored = self._summaries.get((link.get("workflow_id"), link.get("run_id")))  # type: ignore[arg-type]
        return unpackb(stored) if stored else None

    def expired_runs(
        self, as_of: int, retention_of: RetentionOf, limit: int | None = None
    ) -> list[RunSummary]:
        with self._lock:
            self._check_open()
            due = sorted(
                (freed_at + retention, run)
                for run, freed_at in self._freed.items()
                if (retention := retention_of(self._type(run))) is not None
                and freed_at + retention <= as_of
            )[:limit]
            return [proj.to_summary(unpackb(self._summaries[run]), *run) for _, run in due]

    def next_expiry(self, retention_of: RetentionOf) -> int | None:
        with self._lock:
            self._check_open()
            return min(
                (
                    freed_at + retention
                    for run, freed_at in self._freed.items()
                    if (retention := retention_of(self._type(run))) is not None
                ),
                default=None,
            )

    def _type(self, run: _Run) -> str:
        return str(unpackb(self._summaries[run])["workflow_type"])

    def delete_runs(self, runs: Sequence[tuple[str, str]]) -> list[bool]:
        return [self.delete_run(workflow_id, run_id) for workflow_id, run_id in runs]

    def delete_run(self, workflow_id: str, run_id: str) -> bool:
        proj.run_key(workflow_id, run_id)
        run = (workflow_id, run_id)
        with self._lock:
            self._check_open()
            if run not in self._freed:  # open, unknown, or its parent is open
                return False
            del self._freed[run], self._summaries[run]
            self._events.pop(run, None)
            for key in [key for key in self._timers if key[:2] == run]:
                del self._timers[key]
            return True

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosed()
