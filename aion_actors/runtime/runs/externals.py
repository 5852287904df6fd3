"""Requests one workflow makes of another: a signal or a cancel, applied exactly once.

The asking run records `ExternalRequested` first; then its actor (again after
every crash, until it is answered) hands it here. The target records the
request under an id of the asker's run and command, and a target that has
recorded that id once takes it again as done — so the target records it
exactly once, and the asker records the answer (`ExternalRequestDone`) once.
"""

from __future__ import annotations

from collections.abc import Callable

from aion_actors.core import RunKey, WorkflowClosed, WorkflowNotFound, faults
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.runs.elsewhere import Remote
from aion_actors.runtime.runs.endings import Endings
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.table import RunTable
from aion_actors.store import EventStore

Answer = Callable[[BaseException | None], None]


class Externals:
    def __init__(
        self,
        table: RunTable,
        residency: Residency,
        endings: Endings,
        store: EventStore,
        *,
        lane: Lane,
    ) -> None:
        self._table = table
        self._residency = residency
        self._endings = endings
        self._store = store
        self._lane = lane
        #: a node's: targets held by other nodes (see `elsewhere`)
        self.remote: Remote | None = None

    def request(self, asker: RunKey, event: ev.ExternalRequested) -> None:
        """Apply `event` to its target; the asker hears the outcome as `ExternalDone`."""
        request_id = f"{asker.workflow_id}/{asker.run_id}/{event.request_id}"

        def answer(error: BaseException | None) -> None:
            if faults.ARMED:
                faults.hit("external.answering")
            info = None if error is None else ev.error_info(error)
            done = ev.ExternalRequestDone(request_id=event.request_id, error=info)
            self._residency.deliver(asker, msg.ExternalDone(done))

        remote = self.remote
        if remote is not None and not remote.owns(event.target_workflow_id):
            remote.external(event, request_id, answer)  # its owner applies it
            return
        self.apply(event, request_id, answer)

    def apply(self, event: ev.ExternalRequested, request_id: str, answer: Answer) -> None:
        """Apply `event` (asked under `request_id`) to its target, held here; `answer` hears
        the outcome (on another thread)."""
        target_id = event.target_workflow_id

        def resolved(error: BaseException | None) -> None:
            if error is None:
                answer(None)
            else:  # on the lane: the store is read there, never on the recorder's thread
                self._lane.submit(self._settle, event, request_id, error, answer)

        run_id = event.target_run_id or self._table.open_run(target_id)
        if run_id is None:  # no open run: closed, or never started
            self._lane.submit(self._settle, event, request_id, None, answer)
            return
        ack = msg.Ack(on_done=resolved)
        request: msg.RequestMessage
        if event.action == "signal":
            request = msg.Signal(event.name, event.payload, ack, request_id)
        else:
            request = msg.CancelRequest(event.reason, ack, request_id)
        self._endings.send(RunKey(target_id, run_id), request)

    def _settle(
        self,
        event: ev.ExternalRequested,
        request_id: str,
        error: BaseException | None,
        answer: Answer,
    ) -> None:
        """The target could not take the request now (`error`; None: it has no open
        run): done all the same if its latest run recorded it before (the asker
        crashed before hearing so)."""
        workflow_id = event.target_workflow_id
        latest = self._store.latest_run(workflow_id)
        history = self._store.read(workflow_id, latest.run_id) if latest is not None else []
        taken = any(
            isinstance(e, (ev.SignalReceived, ev.WorkflowCancelRequested))
            and e.request_id == request_id
            for e in history
        )
        if taken:
            answer(None)
        elif error is not None:
            answer(error)
        elif latest is None:
            answer(WorkflowNotFound(workflow_id))
        else:
            what = f"signal {event.name!r}" if event.action == "signal" else "cancel"
            status = latest.status.value
            answer(WorkflowClosed(workflow_id, latest.run_id, status, what, latest.ended_at))
