"""A run's machine, rebuilt from the history its incarnation was handed."""

from __future__ import annotations

from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime import pausing
from aion_actors.runtime.activity_cancel import ActivityCancels
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.host import Handoff, RunHost
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.machine import Machine


def machine_for(
    host: RunHost, key: RunKey, definition: WorkflowDefinition, handed: Handoff, ledger: Ledger
) -> tuple[Machine, list[ev.Event]]:
    """Run `key`'s machine on `handed`, and what it holds for an unpause (a paused run's
    code runs as far as it had run). A history read from the store was recorded by the
    code of its day: what this code cannot take of it parks the run. A new run's opening
    is not recorded yet: what the code cannot take of it fails the run, or its start."""
    history = handed.events
    seen, held = pausing.split(history, ledger.paused)
    machine = Machine(
        definition,
        *key,
        seen,
        max_payload_bytes=host.max_payload_bytes,
        converter=host.converter,
        cancels=ActivityCancels(host.activity_cancel),
        rebuilt=handed.start is None,
        warns=not isinstance(seen[-1], ev.ENDINGS),  # (the live run's close, once)
    )
    return machine, held
