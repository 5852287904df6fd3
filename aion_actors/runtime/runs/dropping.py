"""Dropping runs whose partition moved to another node (see README "Running several
replicas"): they leave this engine at once, without recording anything.

Nothing is recorded for them here, no restart budget is spent, and nothing
is refused on their behalf as if they had closed: their entries leave the table
(so anything later addressed to them is refused), what waited in their mailboxes
(never seen by their actors: nothing of it was recorded) is answered with the
error the caller supplies for its run, and `result()` waiters look again — in the
store, where the new owner records the runs' progress. Their actors are told so
(`msg.Dropped`) and stop, answering what they took and did not record with that
error too — the requests of an append still in flight as well, should it fail. A run
being started whose start no incarnation has taken yet is not started here: its
starter hears that error (nothing of it was recorded; a node's caller then asks the
new owner), and an incarnation that comes to replay it finds its run gone and stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pykka

from aion_actors.core import RunKey
from aion_actors.runtime import messages as msg
from aion_actors.runtime.runs.entry import wake_watchers
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.unrecorded import refuse


def drop_runs(
    table: RunTable, within: Callable[[str], bool], error: Callable[[RunKey], BaseException]
) -> int:
    """Drop every run whose workflow_id `within` accepts; returns how many were dropped."""
    dropped = 0
    for entry in table.entries():
        if not within(entry.key.workflow_id):
            continue
        ref = entry.ref
        with table.lock(entry.key.workflow_id):  # (its incarnation takes its start, or we do)
            handoff = table.take_handoff(entry.key)
            held = table.withdraw(entry.key)
        wake_watchers(entry)
        why = error(entry.key)
        if handoff is not None and handoff.start is not None:  # taken by no incarnation
            handoff.start.resolve(why)
        for message in held:
            refuse(message, why)
        if ref is not None:
            with contextlib.suppress(pykka.ActorDeadError):  # already stopped
                ref.tell(msg.Dropped(why))
        dropped += 1
    return dropped
