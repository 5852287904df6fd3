"""The calls that reach an open run by name — `signal`, `cancel`, `terminate`, `resume`,
`query` — made here, or, on a node that does not own the run's partition, sent to its
owner as durable requests (`aion_actors.routing.Route`); and `result`.

`AsyncEngine` makes the same calls: without waiting on a run this engine holds
(`held_here`), else through these (on a reader thread). Both check what they are
given with the functions below, before anything is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aion_actors.core import RunKey, WorkflowStatus, check_reason, check_signal_name
from aion_actors.handles import result_of
from aion_actors.lookup import Lookup
from aion_actors.queues.service import Queues
from aion_actors.registration import Registration
from aion_actors.routing import Route
from aion_actors.runtime.runs import RunManager
from aion_actors.runtime.timeouts import call_timeout


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
        timeout = checked_signal(name, timeout)

        def here() -> None:
            key = self._lookup.open_run(workflow_id, f"signal {name!r}")
            self._runs.signal(key, name, payload, timeout)

        self._route.call(workflow_id, here, lambda f: f.signal(workflow_id, name, payload, timeout))

    def cancel(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        timeout = checked_with_reason("cancel", reason, timeout)

        def here() -> None:
            if not self._queues.cancel(workflow_id, reason, timeout):  # (queued: never runs)
                self._runs.cancel(self._lookup.open_run(workflow_id, "cancel"), reason, timeout)

        self._route.call(workflow_id, here, lambda f: f.cancel(workflow_id, reason, timeout))

    def terminate(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        timeout = checked_with_reason("terminate", reason, timeout)

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
        """An open run another node holds answers there (a chain's open run, although its
        start is not recorded yet); any other from here (a closed or parked run from its
        history)."""
        timeout = call_timeout(timeout, "query")
        if there := self._route.there(workflow_id):
            status = self._lookup.latest(workflow_id).status
            if status.names_next_run or not (status.is_terminal or status is WorkflowStatus.PARKED):
                return there.query(workflow_id, name, args, timeout)
        return self._runs.query(self._lookup.latest_key(workflow_id), name, args, timeout)

    def result(
        self, workflow_id: str, run_id: str | None, timeout: float | None, raise_on_park: bool
    ) -> Any:
        """`Engine.result`: the run's result once it has ended (see `closed_result`)."""
        timeout = call_timeout(timeout, "result")
        key = self._lookup.latest_key(workflow_id, run_id)
        return self.closed_result(key, timeout, raise_on_park)

    def closed_result(self, key: RunKey, timeout: float | None, raise_on_park: bool) -> Any:
        """Run `key`'s result once it (or its continue-as-new successor) has ended, typed as
        its workflow's annotation asks; `timeout` unchecked (0: `TimeoutError` unless now)."""
        key, closing = self._runs.wait_closed(key, timeout, raise_on_park=raise_on_park)
        return self._lookup.typed_result(key, result_of(key, closing))

    def held_here(self, workflow_id: str) -> RunKey | None:
        """The open run of `workflow_id` a call is made on here, by a message to it; None
        when the call takes the way above (another node owns it, or none is open here)."""
        if self._route.there(workflow_id) is not None:
            return None
        run_id = self._runs.open_run(workflow_id)
        return None if run_id is None else RunKey(workflow_id, run_id)


def checked_signal(name: Any, timeout: Any) -> float | None:
    """A signal's `timeout`, once its name is checked (`TypeError` unless a non-empty str)."""
    check_signal_name(name)
    return call_timeout(timeout, "signal")


def checked_with_reason(verb: str, reason: Any, timeout: Any) -> float | None:
    """The `timeout` of a verb given a `reason` (cancel, terminate, pause, reset), once
    that reason is checked."""
    check_reason(reason, verb)
    return call_timeout(timeout, verb)
