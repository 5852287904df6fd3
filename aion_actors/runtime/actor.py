"""RunActor: one Pykka actor per resident run, on the engine's shared dispatcher threads.

It replays the run's history through a `Machine`, then lives on messages.
Each outcome it hears of becomes the next event of the run (its seq and
time stamped here, by the run's single writer) and the workflow runs ahead
on it at once; the commands that follow are appended in the *same* batch,
and nothing is dispatched, armed, started or acknowledged before that batch
commits. So a crash at any instant loses only work that no one outside saw,
and one commit per activity suffices instead of two. At most one append is
in flight; what arrives meanwhile goes out as the next batch.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from aion_actors.core import (
    CorruptEvent,
    NonDeterminismError,
    PayloadError,
    QueryError,
    WorkflowClosed,
    faults,
    stamp,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.definitions import RetryPolicy
from aion_actors.runtime.host import Incarnation, RunHost
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.machine import Machine
from aion_actors.store import DEADLINE_PREFIX, RETRY_PREFIX, Commit
from supervisor import PooledActor

log = logging.getLogger(__name__)

_NO_RETRY = RetryPolicy(max_attempts=1)
_SETTLE_TIMEOUT = 10.0


class RunEvicted(Exception):
    """A query reached a run in the middle of its eviction; asking again rehydrates it."""


class _Replay:
    """First message of every incarnation: rebuild the run from its history."""


@dataclass(frozen=True, slots=True)
class _Orphans:
    """Where messages for an incarnation go once it stopped (or is stopping).

    Pykka drops `tell`s still queued when an actor stops, and a sender that
    looked the actor up a moment before can still put one in after that.
    For an evicted run such a message (a child's result, a due timer) is the
    only thing that would wake it, so the stopped actor's inbox is sealed
    with this. It holds ids rather than the actor, which can then go by
    reference counting instead of waiting for the cyclic collector.
    """

    host: RunHost
    workflow_id: str
    run_id: str
    urn: str
    closed: bool

    def __call__(self, envelope: Any) -> None:
        if envelope.reply_to is not None:
            dead = pykka.ActorDeadError(f"run {self.run_id} stopped; ask again")
            envelope.reply_to.set_exception(exc_info=(type(dead), dead, None))
        else:
            self.pass_on(envelope.message)

    def pass_on(self, message: Any) -> None:
        """Hand what this incarnation will never handle to the next one.

        Requests are not passed on: their sender sees this actor gone with the
        request unsubmitted and sends it again, so passing it on would record it
        twice. Our own `Committed` and `Evict` mean nothing to a successor.
        """
        wakes = isinstance(message, (msg.ActivityOutcome, msg.TimerDue, msg.ChildClosed))
        if wakes and not self.closed:
            self.host.redeliver(self.workflow_id, self.run_id, message, self.urn)


class RunActor(PooledActor):
    """One workflow run; see the module docstring.

    Pooled rather than a thread each: a run lives for a few messages, and a
    thread per run would cost a thread start and an OS wake-up per message.
    """

    def __init__(
        self,
        host: RunHost,
        workflow_id: str,
        run_id: str,
        history: Sequence[ev.Event] | None = None,
    ) -> None:
        super().__init__(host.dispatcher)
        self.workflow_id = workflow_id
        self.run_id = run_id
        self._host = host
        self._initial = list(history) if history is not None else None
        self._machine: Machine | None = None
        self._ledger = Ledger()
        self._head = 0
        self._next_seq = 0
        self._parent: Any = None
        self._outbox: list[ev.Event] = []
        self._acks: list[msg.Ack] = []
        self._inflight = False
        self._pending: Commit | None = None
        self._incarnation = Incarnation(pid=0)
        self._evicting = False
        self._reported_idle = False
        self.pid = 0

    # -- start: replay

    def on_start(self) -> None:
        """Only note who we are: replay runs as the first message, not in `on_start`.

        The supervisor waits for `on_start` in its own thread, so replaying
        here would serialise every start behind every replay, and a replay
        that crashes is a crash to restart from, not a failure to start.
        """
        self._incarnation = self._host.incarnation(self.workflow_id, self.run_id, self.actor_ref)
        self.pid = self._incarnation.pid
        self.actor_ref.tell(_Replay())

    def _replay(self) -> None:
        host = self._host
        incarnation = self._incarnation
        try:
            history = self._initial or host.read_history(self.workflow_id, self.run_id)
        except CorruptEvent as exc:
            self._head = self._next_seq = host.recorder.head(self.workflow_id, self.run_id)
            self._park(str(exc))
            return
        self._initial = None
        self._head = self._next_seq = history[-1].seq
        self._ledger = Ledger(history)
        started = history[0]
        assert isinstance(started, ev.WorkflowStarted)
        self._parent = started.parent
        if self._ledger.closed and not incarnation.resuming:
            self.stop()
            return
        prefix: list[ev.Event] = []
        if incarnation.resuming:
            prefix.append(ev.RunResumed())
        if incarnation.restart_attempt:
            prefix.append(
                ev.RunRestarted(
                    pid=self.pid, attempt=incarnation.restart_attempt, backoff=incarnation.backoff
                )
            )
        definition = host.workflow(started.workflow_type)
        if definition is None:
            self._park(
                f"workflow type {started.workflow_type!r} is not registered in this engine; "
                "register it and call engine.resume()"
            )
            return
        limit = host.max_payload_bytes
        self._machine = Machine(
            definition,
            self.workflow_id,
            self.run_id,
            history,
            max_payload_bytes=limit,
            converter=host.converter,
        )
        self._resume_work()
        self._queue(prefix)

    def _resume_work(self) -> None:
        """Re-dispatch what the last incarnation had in flight, as recorded in history.

        Runs before anything new is queued: an event still waiting for its
        commit must not be acted on (record, then act).
        """
        # An outcome already queued here (it is what rehydrated this run) is not
        # run again: the attempts service forgets an attempt only once its outcome
        # is in this inbox, so each interrupted attempt is caught by one of the two.
        arriving = {
            (m.activity_id, m.attempt) for m in self.queued() if isinstance(m, msg.ActivityOutcome)
        }
        for aid, state in self._ledger.running_attempts():
            if (aid, state.scheduled.attempt) not in arriving:
                self._dispatch(state.scheduled)
        for fire_at in self._ledger.timers.values():
            self._host.arm_timer(fire_at)
        for state in self._ledger.activities.values():
            if state.scheduled.deadline is not None:
                self._host.arm_timer(state.scheduled.deadline)
        for child in self._ledger.children.values():
            self._host.start_child(self.workflow_id, self.run_id, child)

    # -- messages

    def on_receive(self, message: Any) -> Any:
        if self._evicting:
            return self._redirect(message)
        try:
            result = self._handle(message)
            try:
                self._advance()
            except Exception:
                self._settle()
                raise
            self._flush()
            return result
        finally:
            self._report_idle()

    def _handle(self, message: Any) -> Any:
        if isinstance(message, _Replay):
            self._replay()
        elif isinstance(message, msg.Committed):
            self._on_committed(message)
        elif isinstance(message, msg.ActivityOutcome):
            self._on_activity(message)
        elif isinstance(message, msg.TimerDue):
            self._on_timer(message.timer_id)
        elif isinstance(message, msg.Signal):
            self._request(
                ev.SignalReceived(name=message.name, payload=message.payload), message.ack
            )
        elif isinstance(message, msg.CancelRequest):
            self._request(ev.WorkflowCancelRequested(reason=message.reason), message.ack)
        elif isinstance(message, msg.TerminateRequest):
            self._request(ev.WorkflowTerminated(reason=message.reason), message.ack)
        elif isinstance(message, msg.ChildClosed):
            if message.event.child_workflow_id in self._ledger.children and not self._ledger.closed:
                self._queue([message.event])
        elif isinstance(message, msg.Query):
            return self._query(message)
        elif isinstance(message, msg.Evict):
            self._evict()
        return None

    def _request(self, event: ev.Event, ack: msg.Ack) -> None:
        if self._ledger.closed:
            ack.future.set_exception(
                WorkflowClosed(self.workflow_id, self.run_id, "closed", event.kind)
            )
            return
        self._queue([event], ack)

    def _on_activity(self, message: msg.ActivityOutcome) -> None:
        state = self._ledger.activities.get(message.activity_id)
        if (
            state is None
            or state.waiting_retry
            or state.scheduled.attempt != message.attempt
            or self._ledger.closed
        ):
            return
        outcome, aid = message.outcome, message.activity_id
        if outcome.ok:
            self._queue([ev.ActivityCompleted(activity_id=aid, result=outcome.result)])
            return
        error = outcome.error or {"type": "Error", "message": "unknown failure"}
        # A result that cannot be recorded (not msgpack, or over the payload limit)
        # would come back the same from another attempt: the activity fails for good.
        unrecordable = error.get("type") == PayloadError.__name__
        policy = self._host.retry_policy(state.scheduled.name) if not unrecordable else None
        self._fail_attempt(aid, message.attempt, error, policy or _NO_RETRY)

    def _fail_attempt(
        self, aid: str, attempt: int, error: dict[str, Any], policy: RetryPolicy
    ) -> None:
        """Record a failed attempt: a retry after the policy's backoff, or the activity's end."""
        if attempt < policy.max_attempts and policy.retryable(str(error.get("type"))):
            retry_at = time.time_ns() + int(policy.delay(attempt) * 1e9)
            self._queue(
                [
                    ev.ActivityAttemptFailed(
                        activity_id=aid, attempt=attempt, error=error, retry_at=retry_at
                    )
                ]
            )
        else:
            self._queue(
                [
                    ev.ActivityAttemptFailed(activity_id=aid, attempt=attempt, error=error),
                    ev.ActivityFailed(activity_id=aid, error=error),
                ]
            )

    def _on_timer(self, timer_id: str) -> None:
        if self._ledger.closed:
            return
        if timer_id.startswith(RETRY_PREFIX):
            state = self._ledger.activities.get(timer_id[len(RETRY_PREFIX) :])
            if state is not None and state.waiting_retry:
                last = state.scheduled
                self._queue(
                    [
                        ev.ActivityScheduled(
                            activity_id=last.activity_id,
                            name=last.name,
                            input=last.input,
                            attempt=last.attempt + 1,
                            deadline=last.deadline,
                        )
                    ]
                )
        elif timer_id.startswith(DEADLINE_PREFIX):
            self._deadline_passed(timer_id[len(DEADLINE_PREFIX) :])
        elif timer_id in self._ledger.timers:
            self._queue([ev.TimerFired(timer_id=timer_id)])

    def _deadline_passed(self, activity_id: str) -> None:
        """`ctx.activity(timeout=)` ran out: fail the activity; late attempts are ignored."""
        state = self._ledger.activities.get(activity_id)
        if state is None:
            return
        last = state.scheduled
        error = {
            "type": "ActivityTimeout",
            "message": f"activity {last.name!r} did not finish before its deadline "
            f"(ctx.activity timeout); {last.attempt} attempt(s) started",
        }
        self._queue([ev.ActivityFailed(activity_id=activity_id, error=error)])

    def _query(self, message: msg.Query) -> Any:
        if self._machine is None:
            raise QueryError(
                f"workflow {self.workflow_id!r} (run {self.run_id}) cannot answer queries: "
                "it is parked or its history could not be read"
            )
        return self._machine.ctx._answer_query(message.name, message.args)

    # -- residency

    @property
    def _idle(self) -> bool:
        """Waiting only on timers, signals or children: safe to rebuild from history later."""
        return (
            self._machine is not None
            and not self._ledger.closed
            and not self._inflight
            and not self._outbox
            and not self._ledger.busy
        )

    def _report_idle(self) -> None:
        idle = self._idle
        if idle != self._reported_idle:
            self._reported_idle = idle
            self._host.run_idle(self.workflow_id, self.run_id, idle)

    def _evict(self) -> None:
        if not self._idle:
            return
        self._evicting = True
        if faults.ARMED:
            faults.hit("evict")
        self._host.run_evicted(self.workflow_id, self.run_id)
        self.stop()

    def _redirect(self, message: Any) -> None:
        """Messages that reach an evicting actor go to its next incarnation."""
        if isinstance(message, msg.Query):
            raise RunEvicted(f"run {self.run_id} was evicted while the query waited; ask again")
        self._orphans().pass_on(message)

    def _orphans(self) -> _Orphans:
        return _Orphans(
            self._host, self.workflow_id, self.run_id, self.actor_urn, self._ledger.closed
        )

    def on_stop(self) -> None:
        self.seal_inbox(self._orphans())

    def on_failure(self, *exc_info: Any) -> None:
        self.seal_inbox(self._orphans())

    # -- recording

    def _advance(self) -> None:
        if self._machine is None or self._ledger.closed:
            return
        try:
            events = self._machine.advance()
        except NonDeterminismError as exc:
            self._park(str(exc))
            return
        self._queue(events)

    def _park(self, reason: str) -> None:
        log.warning("parking workflow %r (run %s): %s", self.workflow_id, self.run_id, reason)
        self._machine = None
        self._queue([ev.RunParked(reason=reason)])

    def _queue(self, events: Sequence[ev.Event], ack: msg.Ack | None = None) -> None:
        """Make `events` the run's next events; the workflow may run ahead on them."""
        now = time.time_ns()
        for event in events:
            self._next_seq += 1
            stamped = stamp(event, self._next_seq, now)
            self._ledger.apply(stamped)
            self._outbox.append(stamped)
            if self._machine is not None:
                self._machine.feed((stamped,))
        if ack is not None:
            self._acks.append(ack)

    def _flush(self) -> None:
        if self._inflight or not self._outbox:
            return
        batch, acks = self._outbox, self._acks
        self._outbox, self._acks = [], []
        for ack in acks:
            ack.submitted = True
        self._inflight = True
        ref = self.actor_ref

        def committed(events: list[ev.Event] | None, error: BaseException | None) -> None:
            for ack in acks:
                if error is None:
                    ack.future.set_result(None)
                else:
                    ack.future.set_exception(error)
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(msg.Committed(events, error))

        self._pending = self._host.recorder.append_then(
            self.workflow_id, self.run_id, batch, self._next_seq - len(batch), committed
        )

    def _settle(self) -> None:
        """Commit what is queued before crashing: a bug in workflow code must not
        cost an outcome that was already in hand (the activity would run again)."""
        for _ in range(2):
            if self._pending is not None:
                with contextlib.suppress(Exception):
                    self._pending.wait(_SETTLE_TIMEOUT)
            self._inflight = False
            self._flush()

    def _on_committed(self, message: msg.Committed) -> None:
        self._inflight = False
        if message.error is not None:
            raise message.error
        assert message.events is not None
        events = message.events
        self._head = events[-1].seq
        for event in events:
            self._act(event)
        if self._ledger.closed and not self._outbox:
            self.stop()

    def _act(self, event: ev.Event) -> None:
        """Do what a committed event asks for: record first, then act."""
        if isinstance(event, ev.ActivityScheduled):
            if event.deadline is not None and event.attempt == 1:
                self._host.arm_timer(event.deadline)
            self._dispatch(event)
        elif isinstance(event, ev.TimerStarted):
            self._host.arm_timer(event.fire_at)
        elif isinstance(event, ev.ActivityAttemptFailed) and event.retry_at is not None:
            self._host.arm_timer(event.retry_at)
        elif isinstance(event, ev.ChildStarted):
            self._host.start_child(self.workflow_id, self.run_id, event)
        if isinstance(event, (ev.WorkflowCancelRequested, ev.WorkflowTerminated)):
            self._cancel_children(event)
        if event.lifecycle and not isinstance(event, (ev.WorkflowStarted, ev.RunResumed)):
            self._host.run_closed(self.workflow_id, self.run_id, event, self._parent)

    def _cancel_children(self, event: ev.Event) -> None:
        children = self._ledger.children.values()
        doomed = [c for c in children if c.on_parent_close == "cancel"]
        if doomed:
            self._host.cancel_children(doomed, f"parent {self.workflow_id!r}: {event.kind}")

    def _dispatch(self, event: ev.ActivityScheduled) -> None:
        try:
            self._host.dispatch(self.workflow_id, self.run_id, event)
        except LookupError as exc:
            self._park(str(exc))
