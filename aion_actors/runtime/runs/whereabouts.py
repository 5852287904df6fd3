"""What only this engine knows of an open run: where it lives, and why it waits."""

from __future__ import annotations

from dataclasses import dataclass

from aion_actors.core import RunKey
from aion_actors.runtime.attempts import Attempts
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.runs.entry import Presence, Residence
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.waiters import TypeWaiters, waiting_for_type
from aion_actors.store import Recorder


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """What only this engine knows of an open run: where it lives, and why it waits."""

    residency: Residence
    pid: int | None
    waiting_for: str | None


def whereabouts(
    key: RunKey,
    table: RunTable,
    recorder: Recorder,
    catalog: Catalog,
    waiters: TypeWaiters,
    attempts: Attempts,
) -> Whereabouts:
    entry = table.get(key)
    if entry is None:
        return Whereabouts(Residence.EVICTED, None, None)
    if entry.presence is Presence.AWAITING_TYPE:
        waiting = entry.reason
    elif entry.presence is Presence.STALLED:
        unavailable = recorder.unavailable
        waiting = f"waiting for the store: {unavailable}" if unavailable else "the store"
    elif catalog.workflow(entry.workflow_type) is None:
        waiting = waiting_for_type(entry.workflow_type)
    else:
        waiting = waiters.reason(key) or _activity_wait(key, attempts)
    pid = entry.pid if entry.presence is Presence.LIVE else None
    return Whereabouts(entry.residency, pid, waiting)


def _activity_wait(key: RunKey, attempts: Attempts) -> str | None:
    activity = attempts.waiting_for(*key)
    return None if activity is None else f"waiting for activity {activity!r} to be registered"


def overdue(
    key: RunKey, timeout: float | None, state: str | None, where: Whereabouts | None
) -> TimeoutError:
    """The `TimeoutError` of a wait for run `key` to end: its `state` if known and, when
    someone must act for it to go on, what it waits for (`describe().waiting_for`)."""
    said = ", ".join(s for s in (state, where and where.waiting_for) if s)
    return TimeoutError(
        f"workflow {key.workflow_id!r} (run {key.run_id}) did not finish within {timeout} s"
        + (f" (it is {said})" if said else "")
    )
