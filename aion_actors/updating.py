"""`engine.update`: a validated, recorded change to a run that returns its handler's result.

The run's validator decides first, on its live state; a rejection records
nothing (`UpdateRejected`). An accepted update is recorded, handled and
answered exactly once per `update_id`: a retry with the same id returns the
first answer without running the handler again, also once the run has ended.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from aion_actors.core import PayloadConverter, UpdateFailed, payloads
from aion_actors.lookup import Lookup
from aion_actors.runtime.runs import RunManager
from aion_actors.runtime.timeouts import call_timeout


class Updates:
    def __init__(
        self,
        runs: RunManager,
        lookup: Lookup,
        converter: PayloadConverter | None,
        max_payload_bytes: int,
        forwarded: Forwarded | None = None,
    ) -> None:
        #: a node's: updates of runs of other nodes' partitions go to their owners
        self._forwarded = forwarded
        self._runs = runs
        self._lookup = lookup
        self._converter = converter
        self._max_payload_bytes = max_payload_bytes

    def update(
        self,
        workflow_id: str,
        name: str,
        payload: Any,
        update_id: str | None,
        timeout: float | None,
        *,
        fresh: bool = False,
    ) -> Any:
        """The result of update `name` of the open run of `workflow_id` (or of the run it
        continued as new into, should it close first), else of its latest run. `fresh`:
        `update_id` was made up for this call (as it is when None)."""
        timeout = call_timeout(timeout, "update")
        fresh = fresh or update_id is None  # (no run can know it: none is searched for it)
        if update_id is None:
            update_id = uuid.uuid4().hex
        elif not isinstance(update_id, str) or not update_id:
            raise ValueError(f"update_id must be a non-empty string, got {update_id!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"an update name must be a non-empty string, got {name!r}")
        payload = payloads.checked(self._converter, payload, "payload", self._max_payload_bytes)
        forwarded = self._forwarded
        if forwarded is not None and not forwarded.owns(workflow_id):
            self._lookup.latest(workflow_id)  # (WorkflowNotFound here)
            done = forwarded.update(workflow_id, name, payload, update_id, timeout, fresh)
            result, error = done.get("result"), done.get("error")
        else:
            key = self._lookup.latest_key(workflow_id)
            completed = self._runs.update(key, name, payload, update_id, timeout, fresh)
            result, error = completed.result, completed.error
        if error is not None:
            raise UpdateFailed(workflow_id, name, update_id, error)
        return result


class Forwarded(Protocol):
    """A node's way to reach runs of partitions other nodes own."""

    def owns(self, workflow_id: str) -> bool: ...

    def update(
        self,
        workflow_id: str,
        name: str,
        payload: Any,
        update_id: str,
        timeout: float | None,
        fresh: bool = False,
    ) -> dict[str, Any]: ...
