"""What an operator does to a workflow: pause and unpause its run, reset it to an earlier point.

`pause` holds the open run's code (see `runtime.pausing`) and `unpause` lets
it run on; each returns once its event (`RunPaused` / `RunUnpaused`) is
committed. `reset` closes the latest run (or starts from a closed one) and
goes on in a new run from a prefix of its history (see `runtime.runs.resets`).
"""

from __future__ import annotations

from typing import Protocol

from aion_actors.calls import checked_with_reason
from aion_actors.core import OperationRefused, RunKey, WorkflowStatus
from aion_actors.lookup import Lookup
from aion_actors.routing import Route
from aion_actors.runtime import messages as msg
from aion_actors.runtime.runs import RunManager
from aion_actors.runtime.timeouts import call_timeout


class Forwarded(Protocol):
    """A node's way to reach runs of partitions other nodes own."""

    def owns(self, workflow_id: str) -> bool: ...

    def pause(self, workflow_id: str, reason: str, timeout: float | None) -> None: ...

    def unpause(self, workflow_id: str, timeout: float | None) -> None: ...

    def reset(
        self, workflow_id: str, run_id: str, to_seq: int, reason: str, timeout: float | None
    ) -> str: ...


class Operations:
    def __init__(
        self, runs: RunManager, lookup: Lookup, forwarded: Forwarded | None = None
    ) -> None:
        self._runs = runs
        self._lookup = lookup
        #: a node's: runs of other nodes' partitions are operated on by their owners
        self._route = Route(forwarded)

    def pause(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        timeout = checked_with_reason("pause", reason, timeout)

        def here() -> None:
            key = self._open(workflow_id, "pause")
            self._runs.request(key, msg.PauseRequest(reason, msg.Ack(follows=True)), timeout)

        self._route.call(workflow_id, here, lambda f: f.pause(workflow_id, reason, timeout))

    def unpause(self, workflow_id: str, timeout: float | None) -> None:
        timeout = call_timeout(timeout, "unpause")

        def here() -> None:
            key = self._open(workflow_id, "unpause")
            self._runs.request(key, msg.UnpauseRequest(msg.Ack(follows=True)), timeout)

        self._route.call(workflow_id, here, lambda f: f.unpause(workflow_id, timeout))

    def reset(self, workflow_id: str, to_seq: int, reason: str, timeout: float | None) -> str:
        """The new run's id, once it is recorded (see `RunManager.reset`)."""
        if not isinstance(to_seq, int) or isinstance(to_seq, bool):
            raise TypeError(f"to_seq must be an int, got {type(to_seq).__name__}")
        timeout = checked_with_reason("reset", reason, timeout)
        run = self._lookup.latest(workflow_id)
        if there := self._route.there(workflow_id):
            return there.reset(workflow_id, run.run_id, to_seq, reason, timeout)
        return self._runs.reset(RunKey(workflow_id, run.run_id), to_seq, reason, timeout)

    def _open(self, workflow_id: str, what: str) -> RunKey:
        """The open run `what` applies to; a closed or parked one is refused."""
        key = self._lookup.open_run(workflow_id, what)
        if self._lookup.latest(workflow_id).status is WorkflowStatus.PARKED:
            raise OperationRefused(
                f"workflow {workflow_id!r} (run {key.run_id}) is parked: it cannot {what}; "
                "resume it first (engine.resume) — nothing was recorded"
            )
        return key
