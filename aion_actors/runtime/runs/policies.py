"""Start policies: what a start does when its workflow_id has an open run, or closed ones.

`if_open`: "fail" (`WorkflowAlreadyStarted`, the default), "use_existing"
(hand back the open run) or "terminate_existing" (terminate it, then start;
the starter does the terminating, see `aion_actors.starting`).
`if_closed`: "allow" (the default), "reject" (`WorkflowAlreadyRan`),
"allow_if_failed" (reject only after a run that completed) or
"use_existing" (hand back the latest closed run: nothing runs again — once
and only once by workflow_id).

`existing` decides under the workflow_id's stripe lock of the run table,
with the open run as the table knows it and the latest closed one as the
store has it, so two starts of one workflow_id decide one after the other:
two concurrent "use_existing" starts get the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aion_actors.core import RunKey, WorkflowAlreadyRan, WorkflowAlreadyStarted, WorkflowStatus
from aion_actors.runtime.runs.entry import Undecided
from aion_actors.runtime.runs.table import RunTable
from aion_actors.store import RunSummary

IF_OPEN: Final = ("fail", "use_existing", "terminate_existing")
IF_CLOSED: Final = ("allow", "reject", "allow_if_failed", "use_existing")


@dataclass(frozen=True, slots=True)
class StartPolicy:
    if_open: str = "fail"
    if_closed: str = "allow"

    def __post_init__(self) -> None:
        if self.if_open not in IF_OPEN:
            raise ValueError(
                f"if_open={self.if_open!r} is not a start policy; give one of {', '.join(IF_OPEN)}"
            )
        if self.if_closed not in IF_CLOSED:
            raise ValueError(
                f"if_closed={self.if_closed!r} is not a start policy; "
                f"give one of {', '.join(IF_CLOSED)}"
            )


DEFAULT_POLICY: Final = StartPolicy()


def existing(
    table: RunTable,
    key: RunKey,
    policy: StartPolicy,
    latest: Callable[[str], RunSummary | None],
) -> RunKey | None:
    """Under `key`'s stripe lock: the run to hand back instead of starting `key`, or None
    to start it. Raises `WorkflowAlreadyStarted` for an open run the policy does not
    use (its starter may terminate it and try again), `WorkflowAlreadyRan` for a
    closed one it refuses, `Undecided` while another batch's start of the id is."""
    workflow_id = key.workflow_id
    open_run = table.open_run(workflow_id)
    if open_run is not None:
        holder = table.get(RunKey(workflow_id, open_run))
        if holder is not None and holder.batch is not None and not holder.batch.is_set():
            raise Undecided(holder.batch)
        if policy.if_open == "use_existing":
            return RunKey(workflow_id, open_run)
        raise WorkflowAlreadyStarted(workflow_id, open_run)
    if policy.if_closed == "allow":
        return None
    run = latest(workflow_id)
    if run is None or not run.status.is_terminal:
        return None
    if policy.if_closed == "use_existing":
        return RunKey(workflow_id, run.run_id)
    if policy.if_closed == "reject" or run.status is WorkflowStatus.COMPLETED:
        raise WorkflowAlreadyRan(workflow_id, run.run_id, run.status.value, policy.if_closed)
    return None
