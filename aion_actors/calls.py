"""The calls that reach an open run by name — `signal`, `cancel`, `terminate`, `resume`,
`query` — made here, or, on a node that does not own the run's partition, sent to its
owner as durable requests (`aion_actors.routing.Route`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aion_actors.core import RunKey, WorkflowStatus, check_reason
from aion_actors.lookup import Lookup
from aion_actors.queues.service import Queues
from aion_actors.registration import Registration
from aion_actors.routing import Route
from aion_actors.runtime.runs import RunManager


class Forwarded(Protocol):
    """A node's way to reach runs of partitions other nodes own."""

    def owns(self, workflow_id: str) -> bool: ...

    def signal(self, workflow_id: str, name: str, payload: Any, timeout: float | None) -> None: ...

    def cancel(self, workflow_id: str, reason: str, timeout: float | None) -> None: ...

    def terminate(self, workflow_id: str, reason: str, timeout: float | None) -> None: ...

    def resume(self, workflow_id: str) -> None: ...

    def query(
        self, workflow_id: str, name: str, args: Sequence[Any], timeout: float | None
    ) -> Any: ...


class Calls:
    def __init__(
        self,
        runs: RunManager,
        lookup: Lookup,
        registration: Registration,
        queues: Queues,
        forwarded: Forwarded | None = None,
    ) -> None:
        self._runs = runs
        self._lookup = lookup
        self._registration = registration
        self._queues = queues
        #: a node's: calls for runs of other nodes' partitions go to their owners
        self._route = Route(forwarded)

    def signal(self, workflow_id: str, name: str, payload: Any, timeout: float | None) -> None:
        """`payload` is checked (encoded) already."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"a signal name must be a non-empty str, got {name!r}")

        def here() -> None:
            key = self._lookup.open_run(workflow_id, f"signal {name!r}")
            self._runs.signal(key, name, payload, timeout)

        self._route.call(workflow_id, here, lambda f: f.signal(workflow_id, name, payload, timeout))

    def cancel(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        check_reason(reason, "cancel")

        def here() -> None:
            if not self._queues.cancel(workflow_id, reason, timeout):  # (queued: never runs)
                self._runs.cancel(self._lookup.open_run(workflow_id, "cancel"), reason, timeout)

        self._route.call(workflow_id, here, lambda f: f.cancel(workflow_id, reason, timeout))

    def terminate(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        check_reason(reason, "terminate")

        def here() -> None:
            key = self._lookup.open_run(workflow_id, "terminate")
            self._runs.terminate(key, reason, timeout)

        self._route.call(workflow_id, here, lambda f: f.terminate(workflow_id, reason, timeout))

    def resume(self, workflow_id: str) -> None:
        if there := self._route.there(workflow_id):
            return there.resume(workflow_id)
        self._registration.resume(self._lookup.latest(workflow_id))
        return None

    def query(self, workflow_id: str, name: str, args: Sequence[Any], timeout: float | None) -> Any:
        """An open run another node holds answers there; any other from here (a closed
        or parked run from its history)."""
        run = self._lookup.latest(workflow_id)
        held_there = not run.status.is_terminal and run.status is not WorkflowStatus.PARKED
        if held_there and (there := self._route.there(workflow_id)):
            return there.query(workflow_id, name, args, timeout)
        return self._runs.query(RunKey(workflow_id, run.run_id), name, args, timeout)
