"""What callers ask of one run: signal, cancel, terminate, complete an activity (answered
once committed), query.

A change request carries an `Ack` that every road it can take resolves:
the commit of its event (by the run's actor, or on its behalf while it has
none), the run's closing before it was recorded, or the engine's. The
caller blocks on that ack alone — nobody polls. A query goes to the live
actor; a closed or parked run answers from its history, replayed read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aion_actors.core import (
    ActivityAlreadyClosed,
    ActivityToken,
    OwnershipLost,
    PayloadConverter,
    QueryError,
    RunKey,
    UpdateRejected,
    WorkflowAlreadyStarted,
    WorkflowClosed,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.readonly import answer_query
from aion_actors.runtime.runs.answered import answered
from aion_actors.runtime.runs.endings import Endings
from aion_actors.runtime.runs.entry import Presence
from aion_actors.runtime.runs.handing import HandOn, durable, not_recorded_yet, unkept
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.starts import NewRun, Starts
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.waiters import waiting_for_type
from aion_actors.runtime.update_calls import new_call
from aion_actors.store import EventStore
from aion_actors.workers import Outcome

#: how often signal-with-start retries when the workflow_id opens or closes under it
_SIGNAL_WITH_START_RACES = 20


class Requests:
    def __init__(
        self,
        table: RunTable,
        residency: Residency,
        starts: Starts,
        endings: Endings,
        store: EventStore,
        catalog: Catalog,
        *,
        max_payload_bytes: int,
        converter: PayloadConverter | None,
    ) -> None:
        self._table = table
        self._residency = residency
        self._starts = starts
        self._endings = endings
        self._store = store
        self._catalog = catalog
        self._max_payload_bytes = max_payload_bytes
        self._converter = converter
        #: a node's: hands a request its caller stopped waiting for, refused here because
        #: its run's partition left this node, to the partition's owner (`HandOn`)
        self.hand_on: HandOn | None = None

    # signal, cancel, terminate, query and update name the workflow_id's open run: its
    # successor, if it closes continuing as new before recording (or answering) them,
    # records (answers) them instead

    def signal(self, key: RunKey, name: str, payload: Any, timeout: float | None) -> None:
        self._send(key, msg.Signal(name, payload, msg.Ack(follows=True)), timeout)

    def cancel(self, key: RunKey, reason: str, timeout: float | None) -> None:
        self._send(key, msg.CancelRequest(reason, msg.Ack(follows=True)), timeout)

    def terminate(self, key: RunKey, reason: str, timeout: float | None) -> None:
        self._send(key, msg.TerminateRequest(reason, msg.Ack(follows=True)), timeout)

    def signal_with_start(
        self, definition: WorkflowDefinition, run: NewRun, timeout: float | None
    ) -> RunKey:
        """Start `run` with its signal recorded right after its start — or, while its
        workflow_id has an open run, signal that run instead; the run table decides."""
        assert run.signal is not None
        for _ in range(_SIGNAL_WITH_START_RACES):
            open_run = self._table.open_run(run.workflow_id)
            try:
                if open_run is None:
                    [started] = self._starts.create(definition, [run], refuse_open=True)
                    if isinstance(started, BaseException):
                        raise started
                    return run.key
                name, payload = run.signal
                self.signal(RunKey(run.workflow_id, open_run), name, payload, timeout)
                return RunKey(run.workflow_id, open_run)
            except (WorkflowAlreadyStarted, WorkflowClosed):  # it opened, or closed, meanwhile
                continue
        raise WorkflowAlreadyStarted(run.workflow_id, self._table.open_run(run.workflow_id) or "?")

    def request(self, key: RunKey, request: msg.RequestMessage, timeout: float | None) -> None:
        """Record another change (pause, unpause, reset's close) as a signal is recorded."""
        self._send(key, request, timeout)

    def complete_activity(
        self, token: ActivityToken, outcome: Outcome, timeout: float | None
    ) -> None:
        """Close the attempt `token` names with `outcome`, if it is still open."""
        request = msg.CompleteActivity(token.activity_id, token.attempt, outcome, msg.Ack())
        try:
            self._send(RunKey(token.workflow_id, token.run_id), request, timeout)
        except WorkflowClosed as closed:
            reason = f"its run has ended ({closed.status})"
            raise ActivityAlreadyClosed(
                token.workflow_id, token.run_id, token.activity_id, token.attempt, reason
            ) from closed

    def send(self, key: RunKey, request: msg.RequestMessage) -> None:
        """Route change request `request`, without waiting: its ack resolves once it is
        recorded (or never will be)."""
        self._endings.send(key, request)

    def given_up(
        self, key: RunKey, request: msg.RequestMessage, timeout: float | None
    ) -> str | None:
        """The caller of `request` (`send`) stops waiting, after `timeout` s: what its
        `TimeoutError` says — from now on the request is kept (recorded once its run can
        write; on a node, handed to its partition's owner should the partition leave
        first) — or None if it was resolved meanwhile: its outcome stands, for the caller
        to read (`request.ack.wait(0)`). `Engine`'s calls and `AsyncEngine`'s give up so."""
        if not request.ack.abandon(lambda error: self._abandoned(key, request, error)):
            return None
        kept = self.hand_on is None or durable(request) is not None
        return not_recorded_yet(key, request.what, timeout, kept=kept)

    def _send(self, key: RunKey, request: msg.RequestMessage, timeout: float | None) -> None:
        self.send(key, request)
        try:
            request.ack.wait(timeout)
        except TimeoutError:
            if (late := self.given_up(key, request, timeout)) is None:
                request.ack.wait(0)  # resolved meanwhile: its outcome stands
                return
            raise TimeoutError(late) from None

    def _abandoned(
        self, key: RunKey, request: msg.RequestMessage, error: BaseException | None
    ) -> None:
        """The outcome of a request its caller stopped waiting for: one refused because
        its run's partition left this node (nothing of it recorded) goes to its owner;
        one the engine could not keep until its run could write is said lost (a request
        the store could not record waits with its run: see `unrecorded`)."""
        if isinstance(error, OwnershipLost) and self.hand_on is not None:
            self.hand_on(key, request)
        else:
            unkept(key, request, error)

    def query(self, key: RunKey, name: str, args: Sequence[Any], timeout: float | None) -> Any:
        """The answer of the run's live state; a closed run's (the last of its chain's, if
        it continued as new) from its history, a parked run's too."""
        entry = self._table.get(key)
        unregistered = entry is not None and self._catalog.workflow(entry.workflow_type) is None
        if entry is not None and unregistered and entry.presence is not Presence.PARKED:
            raise QueryError(
                f"workflow {key.workflow_id!r} (run {key.run_id}) cannot answer {name!r}: "
                f"it is {waiting_for_type(entry.workflow_type)}"
            )
        if entry is not None and entry.presence is Presence.PARKED:
            return self.replayed(key, name, tuple(args))
        query = msg.Query(name, tuple(args), follows=True)
        self._residency.deliver(key, query)  # (not open: refused, or on to its next run)
        try:
            return query.reply.result(timeout)
        except WorkflowClosed as closed:  # the run it reached is closed: its history answers
            return self.replayed(RunKey(key.workflow_id, closed.run_id), name, tuple(args))
        except TimeoutError:
            raise TimeoutError(
                f"workflow {key.workflow_id!r} (run {key.run_id}) did not answer query "
                f"{name!r} within {timeout} s"
            ) from None

    def update(
        self,
        key: RunKey,
        name: str,
        payload: Any,
        update_id: str,
        timeout: float | None,
        fresh: bool = False,
    ) -> ev.UpdateCompleted:
        """Run update `name` on the live run, or find its answer: a closed run still
        answers an update it recorded (a retry after the run ended); the live one answers
        from the runs it continued as new from one they answered (`runs.answered`) —
        unless the id is `fresh`, made up for this call (`UpdateCall.fresh`)."""
        entry = self._table.get(key)
        if entry is None and (done := self._answered(key, update_id, fresh)) is not None:
            return done
        if entry is not None and entry.presence is Presence.PARKED:
            raise UpdateRejected(
                f"workflow {key.workflow_id!r} (run {key.run_id}) is parked: it cannot run "
                f"update {name!r}; resume it first — nothing was recorded"
            )
        call = new_call(name, payload, update_id, follows=True, fresh=fresh)
        self._residency.deliver(key, call)  # (not open: refused, or on to its next run)
        try:
            return call.answer.result(timeout)
        except WorkflowClosed as closed:  # the run it reached closed: its history may answer
            reached = RunKey(key.workflow_id, closed.run_id)
            if (done := self._answered(reached, update_id, fresh)) is not None:
                return done
            raise
        except TimeoutError:
            raise TimeoutError(
                f"workflow {key.workflow_id!r} (run {key.run_id}) did not answer update "
                f"{name!r} (id {update_id}) within {timeout} s; it may still run: call again "
                "with the same update_id for its result"
            ) from None

    def _answered(self, key: RunKey, update_id: str, fresh: bool) -> ev.UpdateCompleted | None:
        """The answer a closed run, or (a caller's own id) its chain, recorded."""
        return answered(self._store, *key, update_id, chain=not fresh)

    def replayed(self, key: RunKey, name: str, args: tuple[Any, ...]) -> Any:
        """Answer from the run's history, replayed read-only (a closed or parked run)."""
        history = self._store.read(*key)
        started = history[0] if history else None
        if not isinstance(started, ev.WorkflowStarted):
            raise QueryError(f"run {key.run_id} of workflow {key.workflow_id!r} has no history")
        definition = self._catalog.workflow(started.workflow_type)
        if definition is None:
            raise QueryError(
                f"workflow {key.workflow_id!r} (run {key.run_id}) cannot answer {name!r}: "
                f"its workflow type {started.workflow_type!r} is not registered"
            )
        return answer_query(
            definition,
            key,
            history,
            name,
            args,
            max_payload_bytes=self._max_payload_bytes,
            converter=self._converter,
        )
