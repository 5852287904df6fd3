"""Watching a data directory from outside its engine: what the demo's display shows.

It opens the store read-only (LMDB allows readers in other processes while
the engine writes) and reads each run's new events only, so a poll costs
little however long the demo has run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aion_actors.core import ConfigError
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore


@dataclass(frozen=True)
class Snapshot:
    """Counts over every run in the directory at one moment.

    `statuses` counts only the runs of the watched workflow type.
    """

    statuses: Counter[str] = field(default_factory=Counter)
    events: int = 0
    crashes: int = 0
    restarts: int = 0
    worker_crashes: int = 0
    retries: int = 0

    @property
    def completed(self) -> int:
        return self.statuses["completed"]


class Monitor:
    """Polls the store of `data` read-only; `poll()` returns None until the engine created it."""

    def __init__(self, data: Path, workflow_type: str) -> None:
        self._data = data
        self._type = workflow_type
        self._store: LmdbStore | None = None
        self._heads: dict[tuple[str, str], int] = {}
        self._kinds: Counter[str] = Counter()

    def poll(self) -> Snapshot | None:
        store = self._open()
        if store is None:
            return None
        statuses: Counter[str] = Counter()
        events = 0
        for run in store.runs():
            events += run.head
            if run.workflow_type == self._type:
                statuses[run.status.value] += 1
            key = (run.workflow_id, run.run_id)
            seen = self._heads.get(key, 0)
            if run.head > seen:
                self._count(store.read(run.workflow_id, run.run_id, seen + 1))
                self._heads[key] = run.head
        kinds = self._kinds
        return Snapshot(
            statuses=statuses,
            events=events,
            crashes=kinds["RunCrashed"],
            restarts=kinds["RunRestarted"],
            worker_crashes=kinds["WorkerCrashed"],
            retries=kinds["ActivityAttemptFailed"],
        )

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open(self) -> LmdbStore | None:
        if self._store is None:
            try:
                self._store = LmdbStore(self._data, readonly=True)
            except ConfigError:
                return None
        return self._store

    def _count(self, events: list[ev.Event]) -> None:
        for event in events:
            self._kinds[event.kind] += 1
            if isinstance(event, ev.ActivityAttemptFailed) and event.error.get("type") == (
                "WorkerCrashed"
            ):
                self._kinds["WorkerCrashed"] += 1
