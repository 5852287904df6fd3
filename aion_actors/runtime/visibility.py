"""`ctx.set_attributes`: a run's search attributes, recorded as a positional command.

`AttributesSet` takes the next place in the run's command sequence, as a patch
marker does: live, it is recorded there (with the commands of the same step);
on replay the place is matched against history and nothing is recorded again.
History is the truth: a replay that sets other values keeps the recorded ones.
Code that sets attributes where history recorded another command (or the
reverse) diverged, a `NonDeterminismError`.
"""

from __future__ import annotations

from typing import Any

from aion_actors.core import events as ev
from aion_actors.core.attributes import check_attributes
from aion_actors.runtime.patches import CommandSequence, diverged
from aion_actors.runtime.recorded import Recorded


def set_attributes(
    commands: CommandSequence, workflow_id: str, run_id: str, attributes: Any
) -> None:
    """Check `attributes` (a `PayloadError` names a bad one) and take the next place."""
    checked = check_attributes(attributes)
    n, recorded = commands.take()
    if recorded is None:
        commands.out.append(ev.AttributesSet(attributes=checked))
    elif recorded.kind != "attributes":
        wanted = Recorded("attributes", "set_attributes", str(n), 0)
        raise diverged(workflow_id, run_id, recorded, wanted)
