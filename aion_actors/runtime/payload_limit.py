"""The payload limit holds for what a run records anew, never for what its history holds.

`max_payload_bytes` may be lowered between two opens of a data directory: a
history recorded under the larger limit must still replay. So a payload the
workflow makes is measured where it is made (`commands.measure`), and checked
against the limit only where history did not record it: a command that does
not replay the one history holds at its place, or a run's end other than the
one history closed with. A refusal is raised in the code where it awaits (or
calls `ctx.continue_as_new`), as on the first run; nothing is recorded for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aion_actors.core import PayloadError
from aion_actors.core import events as ev
from aion_actors.runtime.commands import (
    ActivityCommand,
    ChildCommand,
    ExternalCommand,
    PartCommand,
)
from aion_actors.runtime.issuing import records
from aion_actors.runtime.patches import CommandSequence

#: the commands that carry a payload the workflow made
_MEASURED = (ActivityCommand, ChildCommand, ExternalCommand)


@dataclass(frozen=True)
class PayloadLimit:
    """`max_bytes` for one run, and what its history ended with when it was read."""

    max_bytes: int
    #: the kind of the history's last event: a run's end of that kind replays unchecked
    last: type[ev.Event]

    def at_end(self, ending: type[ev.Event]) -> int | None:
        """The limit on the payload of the run's end `ending`: none where history has it."""
        return None if issubclass(self.last, ending) else self.max_bytes

    def refused(
        self, commands: Sequence[PartCommand], sequence: CommandSequence
    ) -> PayloadError | None:
        """The error for the first of `commands`, about to be issued, whose payload is over
        the limit and not the one history recorded at its place; None if there is none."""
        k = -1  # the place of each command that records one, from the next on
        for command in commands:
            if not records(command):
                continue
            k += 1
            measured = command.measured if isinstance(command, _MEASURED) else None
            if measured is None or measured.size <= self.max_bytes:
                continue  # (the common case: nothing over the limit, nothing to look up)
            recorded = sequence.ahead(k)
            name = command.target if isinstance(command, ExternalCommand) else command.name
            if recorded is not None and (recorded.kind, recorded.name) == (command.kind, name):
                continue  # it replays what history holds, checked when it was recorded
            return measured.refused(self.max_bytes)
        return None
