"""`engine.update` at the run's actor: validated, recorded once, answered once committed.

A call reaches the live run as an `UpdateCall`. The actor asks its machine's
validator (read-only); a rejection answers the caller and records nothing.
An accepted call becomes `UpdateAccepted`; the machine runs the handler once
that is committed and records `UpdateCompleted`, and the caller is answered
when that commit lands. A call whose `update_id` the run already knows is
not accepted again: it gets the recorded answer (at once if it is committed,
else with the first call). Nor is one an earlier run of its continue-as-new
chain answered: before accepting an id the caller gave that it does not know,
a run that continued from another has its predecessors' histories searched
(`runs.answered`, off its thread); meanwhile calls of that id wait here.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field, replace
from typing import Any

from aion_actors.core import (
    RunKey,
    UpdateRejected,
    WorkflowClosed,
    WorkflowStatus,
    status_from_events,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.machine import Machine


@dataclass(frozen=True)
class UpdateCall(msg.Request):
    """One `engine.update` call; `answer` gets the `UpdateCompleted` that answers it."""

    name: str
    payload: Any
    update_id: str
    ack: msg.Ack
    answer: Future[ev.UpdateCompleted] = field(default_factory=Future)
    #: no earlier run of the chain can have answered its id — the engine made it up for
    #: this call, or the search (`LookUp`) found no answer — so none is searched
    fresh: bool = False

    @property
    def what(self) -> str:
        return f"update {self.name!r}"

    def event(self) -> ev.Event:
        raise TypeError("an update is recorded only once its run's validator accepts it")


def new_call(
    name: str,
    payload: Any,
    update_id: str,
    answer: Future[ev.UpdateCompleted] | None = None,
    *,
    follows: bool = False,
    fresh: bool = False,
) -> UpdateCall:
    """A call whose answer fails if its acceptance cannot be recorded; one that `follows`
    (made by workflow_id) goes on to the run its run closes into (`msg.Ack.follows`);
    `fresh`: its id was made up for it (`UpdateCall.fresh`)."""
    answer = Future() if answer is None else answer

    def acked(error: BaseException | None) -> None:
        if error is not None:
            _settle(answer, error)

    ack = msg.Ack(acked, follows=follows)
    return UpdateCall(name, payload, update_id, ack, answer, fresh)


@dataclass(frozen=True)
class LookUp:
    """Search run `since` and the runs it continued from for `update_id`'s answer."""

    update_id: str
    since: str


@dataclass(frozen=True)
class LookedUp:
    """What `LookUp` found (`runs.answered.Found`), told to the run's actor."""

    update_id: str
    found: ev.UpdateCompleted | BaseException | None


class LiveUpdates:
    """The update calls one actor is answering."""

    def __init__(self) -> None:
        #: calls waiting for the commit of their update's answer, by update id
        self._waiting: dict[str, list[UpdateCall]] = {}
        #: the run this one continued as new from (`WorkflowStarted.continued_from`)
        self.since: str | None = None
        #: calls whose ids the predecessors' histories are being searched for, by id
        self._looking: dict[str, list[UpdateCall]] = {}

    @property
    def waiting(self) -> bool:
        """Callers wait here for an answer: an async handler may still be running, or
        the predecessors' histories are being searched."""
        return bool(self._waiting) or bool(self._looking)

    def take(
        self,
        call: UpdateCall,
        machine: Machine | None,
        key: RunKey,
        closed_as: WorkflowStatus | None,
        paused: bool = False,
    ) -> ev.UpdateAccepted | LookUp | None:
        """The event accepting `call`, or the search to make first (an id the caller gave,
        unknown here, on a run that continued from another: its calls wait for `looked_up`),
        or None when it is answered another way (a paused run refuses updates: its code,
        which would run the handler, is held)."""
        if closed_as is not None:
            call.ack.resolve(WorkflowClosed(*key, closed_as.value, call.what))
            return None
        if machine is None or paused:
            why = f"workflow {key.workflow_id!r} (run {key.run_id}) is " + (
                "paused or queued; unpause it first" if paused else "parked"
            )
            call.ack.resolve(UpdateRejected(f"{why}; nothing was recorded for {call.what}"))
            return None
        router = machine.updates
        done = router.answer(call.update_id)
        if done is not None and done.seq <= router.committed_to:
            _settle(call.answer, done)
        elif done is not None or router.accepted(call.update_id):
            self._waiting.setdefault(call.update_id, []).append(call)
        elif not call.fresh and self.since is not None:  # (its ack waits for the outcome)
            looking = call.update_id in self._looking
            self._looking.setdefault(call.update_id, []).append(call)
            return None if looking else LookUp(call.update_id, self.since)
        else:
            try:
                machine.ctx._validate_update(call.name, call.payload)  # noqa: SLF001 - ours to drive
            except UpdateRejected as exc:
                call.ack.resolve(exc)
                return None
            self._waiting.setdefault(call.update_id, []).append(call)
            return ev.UpdateAccepted(update_id=call.update_id, name=call.name, payload=call.payload)
        call.ack.resolve()
        return None

    def looked_up(self, message: LookedUp) -> list[UpdateCall]:
        """The search for `message.update_id` is over: its callers get the answer found
        (or the store's error) — else their calls, to take again, now without a search."""
        calls = self._looking.pop(message.update_id, [])
        if message.found is None:
            return [replace(call, fresh=True) for call in calls]
        for call in calls:
            _settle(call.answer, message.found)
            call.ack.resolve()
        return []

    def committed(self, events: Sequence[ev.Event], machine: Machine | None, key: RunKey) -> None:
        """Answer the callers whose answers `events` committed; updates now committed may run."""
        if machine is not None:
            machine.updates.committed_to = events[-1].seq
        if not self._waiting:  # the common commit: no caller waits on an update
            return
        for event in events:
            if isinstance(event, ev.UpdateCompleted):
                for call in self._waiting.pop(event.update_id, []):
                    _settle(call.answer, event)
            elif isinstance(event, ev.ENDINGS):  # what was not answered will never be here
                self._closed(status_from_events((event,)), key)

    def _closed(self, status: WorkflowStatus, key: RunKey) -> None:
        """The run ended before running the handlers of the updates still waited for:
        their callers hear it is closed — but those that follow its workflow_id stay, to
        go on (`left`) to the run it closed into, whose handler runs them once (its
        acceptance here stays in history unanswered: the code that closed never ran it)."""
        following = status.names_next_run
        for update_id, calls in list(self._waiting.items()):
            refused = [c for c in calls if not (following and c.ack.follows)]
            closed = WorkflowClosed(*key, status.value, f"update (id {update_id})")
            for call in refused:
                _settle(call.answer, closed)
            if kept := [c for c in calls if c not in refused]:
                self._waiting[update_id] = kept
            else:
                del self._waiting[update_id]

    def left(self) -> list[UpdateCall]:
        """This incarnation stops: its waiting callers, as calls for the next one (which
        answers them from history, as a retry with the same update_id is answered; an
        engine that closes tells them `EngineClosed`), each with an unresolved ack."""
        calls = [c for waiting in self._waiting.values() for c in waiting]
        calls += [c for looking in self._looking.values() for c in looking]  # (searched again)
        self._waiting.clear()
        self._looking.clear()
        return [
            new_call(c.name, c.payload, c.update_id, c.answer, follows=c.ack.follows, fresh=c.fresh)
            for c in calls
        ]


def _settle(
    answer: Future[ev.UpdateCompleted], outcome: ev.UpdateCompleted | BaseException
) -> None:
    try:
        if isinstance(outcome, BaseException):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)
    except InvalidStateError:  # answered already (an ack and a commit may both try)
        pass
