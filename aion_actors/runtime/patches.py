"""Patch markers, and the run's commands by place that they sit among.

Replay matches the commands a workflow issues against history by their place
in the run's sequence of commands. A `PatchApplied` marker is such a command:
it takes the next place, so replay finds it where the code asks again.
`ctx.patched(id)`, asked at place n, answers from history:

- history's n-th command is `PatchApplied(id)`: the run took the patch, so
  True, and the place is consumed;
- history has an n-th command that is something else (the run predates the
  patch and took the old branch there), or the run had ended before place n:
  False, and the place is not consumed, so the old branch's command matches it;
- history has no n-th command and the run is live there (a new run, or a rebuilt
  one whose code got here only on an event past its history): True, and
  `PatchApplied(id)` is recorded in that place;
- history has no n-th command but a rebuilt run's code gets there while still
  replaying its history: False, not consumed. The code before the place is the
  same, so the last incarnation got there too, on the same events, and took the
  old branch — blocked in an unrecorded wait inside it (a signal, a condition), or
  crashed before its commands were committed (then either branch is safe; the old
  one is taken). A reset's new run counts as new: its prefix is the old run's, and
  its code goes on from the reset point afresh.

The first answer for an id holds for the rest of the run (nothing is recorded
again). `ctx.deprecate_patch(id)` consumes a marker found at its place and
records nothing live. A marker found where the code asks for another command
is a `NonDeterminismError` naming the patch (`diverged`).
"""

from __future__ import annotations

from aion_actors.core import NonDeterminismError, check_id
from aion_actors.core import events as ev
from aion_actors.runtime.recorded import Recorded


class CommandSequence:
    """The commands history recorded, by place, and how many the code has issued so far."""

    def __init__(self, recorded: list[Recorded], *, ended: bool, rebuilt: bool) -> None:
        #: filled by the machine from history, oldest first
        self._recorded = recorded
        #: the history ends the run: no place past it is live
        self._ended = ended
        #: the history is a past incarnation's, whose code ran on every event of it
        self._rebuilt = rebuilt
        self._issued = 0
        #: where the machine's current `advance` collects the events to record
        self.out: list[ev.Event] = []
        self._answers: dict[str, bool] = {}

    @property
    def issued(self) -> int:
        """How many places the code has taken (each matched against history in order)."""
        return self._issued

    @property
    def live(self) -> bool:
        """True once the code has issued more commands than history recorded."""
        return self._issued > len(self._recorded)

    def take(self) -> tuple[int, Recorded | None]:
        """The next place, numbered from 1, and what history recorded there (None: live)."""
        self._issued += 1
        n = self._issued
        return n, self._recorded[n - 1] if n <= len(self._recorded) else None

    def ahead(self, k: int = 0) -> Recorded | None:
        """What history recorded at the place `k` past the next (None: nothing, live)."""
        n = self._issued + k
        return self._recorded[n] if n < len(self._recorded) else None

    def patched(self, patch_id: str, *, replaying: bool) -> bool:
        """Whether this run takes patch `patch_id` (see the module's rules); `replaying`:
        the code has seen no event past the history it was rebuilt from."""
        if (answer := self._answers.get(patch_id)) is not None:
            return answer
        check_id(patch_id, "patch_id")
        recorded = self.ahead()
        if recorded is not None:
            answer = (recorded.kind, recorded.name) == ("patch", patch_id)
            if answer:
                self._issued += 1
        elif self._ended:
            answer = False  # a closed history replayed: the run never got here
        elif self._rebuilt and replaying:
            answer = False  # the last incarnation got here and took the old branch
        else:
            self._issued += 1
            self.out.append(ev.PatchApplied(patch_id=patch_id))
            answer = True
        self._answers[patch_id] = answer
        return answer

    def answered(self, patch_id: str) -> bool | None:
        """The answer `patched(patch_id)` gave this run, or None if it was not asked."""
        return self._answers.get(patch_id)

    def deprecate(self, patch_id: str) -> None:
        """Consume a `PatchApplied(patch_id)` at the next place, if history has one there."""
        check_id(patch_id, "patch_id")
        recorded = self.ahead()
        if recorded is not None and (recorded.kind, recorded.name) == ("patch", patch_id):
            self._issued += 1


def diverged(
    workflow_id: str, run_id: str, recorded: Recorded, wanted: Recorded
) -> NonDeterminismError:
    """The error for code asking `wanted` where history recorded `recorded`; a patch
    marker there names its patch, and what to add."""
    patch = recorded.name if recorded.kind == "patch" else None
    return NonDeterminismError(
        workflow_id, run_id, recorded.seq, recorded.describe(), wanted.describe(), patch=patch
    )
