"""A child run (or a child's next run) whose first commit failed: its starter, the parent
run, did not wait for it, so it is told here.

A store that refused the write, or an engine closing, is passing: the start was not
recorded, and recovery starts the child again from its parent's `ChildStarted`. Any other
failure — the workflow's call raised before its first line, as it does for arguments
that do not fit its signature — would come again at every start: the parent hears it as
the child's failure (`ChildFailed`, recorded once), and its code handles it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aion_actors.core import AionError, RunKey, SequenceConflict
from aion_actors.core import events as ev
from aion_actors.runtime import arity
from aion_actors.runtime import messages as msg

log = logging.getLogger("aion_actors.runtime")


def unstarted(
    key: RunKey,
    parent: dict[str, Any],
    error: BaseException,
    closing: bool,
    deliver: Callable[[RunKey, object], None],
) -> None:
    """Tell the parent run `parent` links to that `key` could not start with `error`
    (`closing`: the engine is shutting down); `deliver` hands a message to a run."""
    if isinstance(error, SequenceConflict):  # it had started already: nothing failed
        return
    if isinstance(error, AionError) or closing:
        log.error("run %s could not record its start: %r; recovery starts it again", key, error)
        return
    log.warning("run %s cannot start: %r; its parent is told the child failed", key, error)
    child_run_id = parent.get("child_run_id", key.run_id)  # (a successor: its chain's first)
    info = arity.unstarted(error) if child_run_id == key.run_id else ev.error_info(error)
    failed = ev.ChildFailed(
        child_workflow_id=key.workflow_id, child_run_id=child_run_id, error=info
    )
    exact = "child_run_id" in parent
    deliver(RunKey(parent["workflow_id"], parent["run_id"]), msg.ChildClosed(failed, exact))
