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
from collections.abc import Sequence
from typing import Any

from aion_actors.core import (
    CorruptEvent,
    NonDeterminismError,
    RunKey,
    WorkflowClosed,
    WorkflowStatus,
    faults,
    stamp,
    status_from_events,
)
from aion_actors.core import events as ev
from aion_actors.runtime import acting, rebuild, replies, submitting
from aion_actors.runtime import messages as msg
from aion_actors.runtime.completion import recorded_for
from aion_actors.runtime.following import onward
from aion_actors.runtime.host import Incarnation, RunHost
from aion_actors.runtime.leaving import Leaving
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.machine import Machine
from aion_actors.runtime.outcomes import activity_outcome, timer_due
from aion_actors.runtime.readonly import answer_live
from aion_actors.runtime.update_calls import LiveUpdates, LookedUp, LookUp, UpdateCall
from aion_actors.store import Commit

log = logging.getLogger(__name__)

_SETTLE_TIMEOUT = 10.0


class _Replay:
    """First message of every incarnation: rebuild the run from its history."""


class RunActor(Leaving):
    """One workflow run; see the module docstring.

    Pooled rather than a thread each: a run lives for a few messages, and a
    thread per run would cost a thread start and an OS wake-up per message.
    """

    def __init__(
        self,
        host: RunHost,
        workflow_id: str,
        run_id: str,
        generation: int = 0,
    ) -> None:
        super().__init__(host.dispatcher)
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.key = RunKey(workflow_id, run_id)
        #: which incarnation of the run this is, for the run table (see `RunHost.incarnation`)
        self.generation = generation
        self._host = host
        self._machine: Machine | None = None
        self._ledger = Ledger()
        #: our own ref, read once (Pykka's `actor_ref` is a property, read per batch)
        self._ref = self.actor_ref
        self._head = 0
        self._next_seq = 0
        #: how the run ended, once an ending is queued ("parked" included)
        self._closed_as: WorkflowStatus | None = None
        self._outbox: list[ev.Event] = []
        #: the ack of `start` while this new run's opening is not yet handed to the recorder
        self._start: msg.Ack | None = None
        #: requests whose events are in `_outbox`: acknowledged once their batch commits
        self._requests: list[msg.Request] = []
        self._following: list[object] = []  # by workflow_id, after the ending: see stop
        #: the outcomes, due timers and child endings behind `_outbox`'s events, and those
        #: behind the batch in flight: kept for the next incarnation should the store fail
        self._inputs: list[object] = []
        self._sent_inputs: list[object] = []
        self._inflight = False
        self._pending: Commit | None = None
        #: the requests of the batch in flight, for what becomes of them should it fail
        self._sent: msg.Sent | None = None
        #: set once its run was dropped from this node (`msg.Dropped`): what callers hear
        self._dropped: BaseException | None = None
        self._incarnation: Incarnation | None = Incarnation(pid=0)
        #: on a node, the epoch of its run's partition it was made under (read before its
        #: history is handed over): its appends carry it, so the store refuses them once
        #: the partition left this node, even if it came back (a newer incarnation writes)
        self._epoch: int | None = None
        self._evicting = False
        self._reported_idle = False
        self._updates = LiveUpdates()
        self.pid = 0

    # -- start: replay

    def on_start(self) -> None:
        """Only note who we are: replay runs as the first message (a replay that crashes is
        a crash to restart from, not a failure to start), and the messages that waited for
        this incarnation follow it, told by the run table as it makes us live."""
        self.actor_ref.tell(_Replay())
        self._incarnation = self._host.incarnation(self.key, self.generation, self.actor_ref)
        self.pid = self._incarnation.pid if self._incarnation is not None else 0

    def _replay(self) -> None:
        host, incarnation = self._host, self._incarnation
        if incarnation is None:  # stale: a newer incarnation holds the run
            self.stop()
            return
        self._epoch = host.recorder.epoch_of(self.workflow_id)
        try:
            handed = host.handoff(self.key, self.generation)
        except CorruptEvent as exc:
            self._head = self._next_seq = host.recorder.head(self.workflow_id, self.run_id)
            self._park(str(exc))
            return
        if handed is None:  # its run left this engine since (dropped): nothing to replay
            self.stop()
            return
        history = handed.events
        self._head = self._next_seq = history[-1].seq
        if handed.start is not None:  # a new run: its start is ours to record
            self._head, self._start = 0, handed.start
            self._outbox = list(history)
        self._ledger = Ledger(history)
        started = history[0]
        assert isinstance(started, ev.WorkflowStarted)
        self._updates.since = started.continued_from
        if self._ledger.closed and not incarnation.resuming:
            closing = next(e for e in reversed(history) if e.lifecycle)
            host.run_closed(self.key, closing)  # the run table may not know it yet
            self.stop()
            return
        prefix = incarnation.opening()
        definition = host.workflow(started.workflow_type)
        if definition is None:
            self._park(
                f"workflow type {started.workflow_type!r} is not registered in this engine; "
                "register it and call engine.resume()"
            )
            return
        self._machine, held = rebuild.machine_for(host, self.key, definition, handed, self._ledger)
        if held:  # paused: its code runs as far as it had; the rest waits for the unpause
            self._advance(held=True)
            self._machine.feed(held)
        self._resume_work()
        self._queue(prefix)

    def _resume_work(self) -> None:
        """Re-dispatch what the last incarnation had in flight, as recorded in history,
        before anything new is queued (record, then act). An outcome already queued
        here (it is what rehydrated this run) is not run again: the attempts service
        forgets an attempt only once its outcome is in this inbox."""
        running = self._ledger.running_attempts()  # (none, for a new run: no inbox to read)
        queued = self.queued() if running else ()
        arriving = {(m.activity_id, m.attempt) for m in queued if type(m) is msg.ActivityOutcome}
        for aid, state in running:
            if (aid, state.scheduled.attempt) not in arriving:
                self._act(state.scheduled, dispatch=True)
        acting.resume_waits(self._host, self.key, self._ledger)

    # -- messages

    def on_receive(self, message: Any) -> Any:
        if self._evicting:  # leaving: what arrives goes to the next incarnation
            if type(message) is msg.Dropped:  # ... unless its run left this node
                self._drop(message.error)
                return None
            return self._orphans().pass_on(message)
        try:
            result = self._handle(message)
            try:
                self._advance()
            except Exception:
                self._settle()
                raise
        except BaseException:
            self._report_idle()
            raise
        if type(message) is not _Replay or not self.actor_inbox.snapshot():  # (else: theirs)
            self._report_idle()  # before the commit that may let the engine look quiet
        self._flush()  # leaves the run busy if it was: no second report
        return result

    def _handle(self, message: Any) -> Any:
        if isinstance(message, _Replay):
            self._replay()
        elif isinstance(message, msg.Committed):
            self._on_committed(message)
        elif isinstance(message, msg.ActivityOutcome | msg.ActivityHeartbeat | msg.TimerDue):
            self._inputs.append(message)
            policy_of, now = self._host.retry_policy, self._host.clock.now_ns()
            if isinstance(message, msg.TimerDue):
                self._queue(timer_due(self._ledger, message.timer, message.fire_at, policy_of, now))
            else:
                self._queue(activity_outcome(self._ledger, message, policy_of, now))
        elif onward(message, self._closed_as, self._machine):  # a query or update
            self._following.append(message)  # made by workflow_id: on to the next run (stop)
        elif isinstance(message, UpdateCall):
            machine, paused = self._machine, self._ledger.held
            taken = self._updates.take(message, machine, self.key, self._closed_as, paused)
            if isinstance(taken, LookUp):  # answered by a run it continued from? (off thread)
                self._host.look_up_update(self.key, taken, self._ref)
            elif taken is not None:
                self._queue([taken], message)
        elif isinstance(message, LookedUp):
            for call in self._updates.looked_up(message):
                self._handle(call)
        elif isinstance(message, msg.Request):
            self._request(message)
        elif isinstance(message, msg.MaybeRecorded):  # replayed: its batch committed, or not
            if self._head > message.after:
                message.request.ack.resolve()
            else:
                self._request(message.request)
        elif isinstance(message, msg.Reply):
            self._inputs.append(message)
            self._queue(replies.recorded_for(self._ledger, message))
        elif isinstance(message, msg.Query):
            answer_live(self._machine, message, self.key)
        elif isinstance(message, msg.Evict):
            self._evict()
        elif isinstance(message, msg.Dropped):
            self._drop(message.error)

    def _request(self, request: msg.Request) -> None:
        closed_as = self._closed_as
        if closed_as is WorkflowStatus.PARKED:  # recorded for the parked run by the table
            self._orphans().pass_on(request)
        elif request.request_id in self._ledger.request_ids:  # recorded before a crash
            request.ack.resolve()
        elif closed_as is not None and request.ack.follows:  # passed on once it is closed
            self._following.append(request)
        elif closed_as is not None:
            request.ack.resolve(WorkflowClosed(*self.key, closed_as.value, request.what))
        else:
            host = self._host
            now = host.clock.now_ns()
            if events := recorded_for(self.key, request, self._ledger, host.retry_policy, now):
                self._queue(events, request)

    # -- residency

    @property
    def _idle(self) -> bool:
        """Waiting only on timers, signals or children, no update caller waiting on an async
        handler (its answer goes to this incarnation): safe to rebuild from history later."""
        ledger = self._ledger
        busy = self._inflight or bool(self._outbox) or ledger.closed or self._updates.waiting
        busy = busy or (ledger.busy and not self._host.waits_for_time(self.key, ledger))
        return self._machine is not None and not busy

    def _report_idle(self) -> None:
        idle = self._idle
        if idle != self._reported_idle:
            self._reported_idle = idle
            self._host.run_idle(self.key, idle)

    def on_released(self) -> None:
        self._host.clock.settled()  # its inbox ran dry: the engine may be quiet now

    def _evict(self) -> None:
        if not self._idle:
            return
        if faults.ARMED:
            faults.hit("evict")
        if not self._host.run_evicted(self.key, self.generation):
            return
        self._evicting = True
        self.stop()

    # -- recording

    def _advance(self, *, held: bool = False) -> None:
        if self._machine is None or self._ledger.closed or (self._ledger.held and not held):
            return
        try:
            events = self._machine.advance()
        except NonDeterminismError as exc:
            self._park(str(exc))
            return
        if events:  # (most turns issue nothing: no clock read, no call)
            self._queue(events)

    def _park(self, reason: str) -> None:
        log.warning("parking workflow %r (run %s): %s", self.workflow_id, self.run_id, reason)
        self._machine = None
        self._queue([ev.RunParked(reason=reason)])

    def _queue(self, events: Sequence[ev.Event], request: msg.Request | None = None) -> None:
        """Make `events` the run's next events; the workflow may run ahead on them."""
        now = self._host.clock.now_ns()
        for event in events:
            self._next_seq += 1
            stamped = stamp(event, self._next_seq, now)
            self._ledger.apply(stamped)
            if stamped.lifecycle and self._ledger.closed and self._closed_as is None:
                self._closed_as = status_from_events((stamped,))
            self._outbox.append(stamped)
            if self._machine is not None:
                self._machine.feed((stamped,))
        if request is not None:
            self._requests.append(request)

    def _flush(self) -> None:
        if self._inflight or not self._outbox:
            return
        batch, requests = self._outbox, self._requests
        self._outbox, self._requests = [], []
        self._sent_inputs, self._inputs = self._inputs, []
        acks = [request.ack for request in requests]
        if self._start is not None:  # the caller of `start` waits for this commit
            acks.append(self._start)
            self._start = None
        self._inflight = True
        expected = self._next_seq - len(batch)
        self._sent = sent = msg.Sent(requests, expected) if requests else None
        host, key, epoch = self._host, self.key, self._epoch
        self._pending = submitting.submit(
            host, key, self.generation, self._ref, batch, expected, acks, sent, epoch
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
        self._inflight, self._sent = False, None
        if message.error is not None:
            self._failed(message.error, message.unrecorded)  # (see `leaving`)
            return
        self._sent_inputs = []
        assert message.events is not None
        events = message.events
        self._head = events[-1].seq
        self._updates.committed(events, self._machine, self.key)
        for event in events:
            self._act(event)
        for ack in message.after_close:
            ack.resolve()
        if self._ledger.closed and not self._outbox:
            self.stop_in_turn()  # (nothing queued: no stop message and turn to come)

    def _act(self, event: ev.Event, *, dispatch: bool = False) -> None:
        """Do what a committed event asks for (`acting`): record first, then act."""
        try:
            if isinstance(event, ev.ActivityScheduled) and dispatch:  # again, from history
                follow = acting.dispatch(self._host, self.key, self._ledger, event)
            else:
                follow = acting.act(self._host, self.key, self._ledger, event)
            if follow:
                self._queue(follow)
        except LookupError as exc:
            self._park(str(exc))
