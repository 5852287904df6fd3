"""Reading many runs' histories at once: one read transaction where the store offers it.

Startup recovery (and `copy_store`) reads the history of many runs. A store that
implements `ReadsMany` reads a batch of them at once (LMDB in one read transaction,
PostgreSQL in one query); any other store is asked run by run. Either way each run
gets its history, or the error reading it raised, in its place: a damaged history
costs only its run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from aion_actors.core import AionError, Event
from aion_actors.store.protocol import EventStore

#: a run's whole history, or why it could not be read
Read = list[Event] | AionError


@runtime_checkable
class ReadsMany(Protocol):
    def read_many(self, runs: Sequence[tuple[str, str]]) -> list[Read]:
        """The whole history of each `(workflow_id, run_id)`, in one read transaction."""
        ...


def read_histories(store: EventStore, runs: Sequence[tuple[str, str]]) -> list[Read]:
    """Each run's whole history (or its read error), in the order of `runs`."""
    if isinstance(store, ReadsMany):
        try:
            return store.read_many(runs)
        except AionError:  # the read as a whole failed (not one history): run by run
            pass
    found: list[Read] = []
    for workflow_id, run_id in runs:
        try:
            found.append(store.read(workflow_id, run_id))
        except AionError as exc:
            found.append(exc)
    return found
