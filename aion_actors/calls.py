"""The calls that reach an open run by name — `signal`, `cancel`, `terminate`, `resume`,
`query` — made here, or, on a node that does not own the run's partition, sent to its
owner as durable requests (see `aion_actors.nodes.forwarding`) — also when the
partition moves away between the check and the local write: the fence refuses that
write whole (`OwnershipLost`, nothing recorded), and the call goes to the new owner.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from aion_actors.core import OwnershipLost, RunKey, WorkflowStatus
from aion_actors.lookup import Lookup
from aion_actors.queues.service import Queues
from aion_actors.registration import Registration
from aion_actors.runtime.runs import RunManager

log = logging.getLogger("aion_actors.nodes")


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
        self._forwarded = forwarded

    def _there(self, workflow_id: str) -> Forwarded | None:
        forwarded = self._forwarded
        return forwarded if forwarded is not None and not forwarded.owns(workflow_id) else None

    def _moved(self, workflow_id: str, exc: OwnershipLost) -> Forwarded:
        """The forwarding path for a call whose local write the fence refused (its
        partition moved meanwhile; nothing was written): its new owner applies it, once."""
        if self._forwarded is None:
            raise exc
        log.info("%s; the call goes to the partition's new owner", exc)
        return self._forwarded

    def signal(self, workflow_id: str, name: str, payload: Any, timeout: float | None) -> None:
        """`payload` is checked (encoded) already."""
        if there := self._there(workflow_id):
            return there.signal(workflow_id, name, payload, timeout)
        try:
            key = self._lookup.open_run(workflow_id, f"signal {name!r}")
            self._runs.signal(key, name, payload, timeout)
        except OwnershipLost as exc:
            self._moved(workflow_id, exc).signal(workflow_id, name, payload, timeout)
        return None

    def cancel(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        if there := self._there(workflow_id):
            return there.cancel(workflow_id, reason, timeout)
        try:
            if not self._queues.cancel(workflow_id, reason, timeout):  # (queued: never runs)
                self._runs.cancel(self._lookup.open_run(workflow_id, "cancel"), reason, timeout)
        except OwnershipLost as exc:
            self._moved(workflow_id, exc).cancel(workflow_id, reason, timeout)
        return None

    def terminate(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        if there := self._there(workflow_id):
            return there.terminate(workflow_id, reason, timeout)
        try:
            self._runs.terminate(self._lookup.open_run(workflow_id, "terminate"), reason, timeout)
        except OwnershipLost as exc:
            self._moved(workflow_id, exc).terminate(workflow_id, reason, timeout)
        return None

    def resume(self, workflow_id: str) -> None:
        if there := self._there(workflow_id):
            return there.resume(workflow_id)
        self._registration.resume(self._lookup.latest(workflow_id))
        return None

    def query(self, workflow_id: str, name: str, args: Sequence[Any], timeout: float | None) -> Any:
        """An open run another node holds answers there; any other from here (a closed
        or parked run from its history)."""
        run = self._lookup.latest(workflow_id)
        held_there = not run.status.is_terminal and run.status is not WorkflowStatus.PARKED
        if held_there and (there := self._there(workflow_id)):
            return there.query(workflow_id, name, args, timeout)
        return self._runs.query(RunKey(workflow_id, run.run_id), name, args, timeout)
