"""`engine.reset`: go on from an earlier point of a run's history, in a new run.

**Reset points.** `to_seq` must be a place where the workflow's code had just
been resumed: the seq of its `WorkflowStarted`, or of an event that delivered
an outcome to the code (`BOUNDARIES`: an activity completed or failed for
good, a timer fired, a signal, a cancel request, an accepted update, a child
that started, completed or failed, an answer from another workflow). The
commands the code issued in response, retries, supervision and operator
events are not reset points: the new run's code is resumed with the outcome
at `to_seq` and issues its commands afresh, with the code registered now.

**The new run** (new run_id, same workflow_id) records the old history's
events 1..`to_seq` with their seqs, times and ids, except that its
`WorkflowStarted` names its own run_id, the registered version and
`reset_from = {"run_id", "seq", "reason", "at", "seed"}`. Then, so the run
goes on at once: `RunResumed` if the prefix left it parked, `RunUnpaused` if
it left it paused, and every signal the old run received after `to_seq`, again,
in order (as Temporal re-applies them). Activities completed in the prefix
are not run again; attempts scheduled but not finished in it are dispatched
again (same activity ids); its timers are re-armed.

**The old run.** An open one is ended by `WorkflowReset{next_run_id, to_seq,
reason}`, as a terminate ends it (its code does not run; its children are not
cancelled: they belong to the new run's prefix too). A closed one is left as
it is — nothing is ever appended after a closing — and only the new run's
`reset_from` links the two. `result()` of the workflow_id, and of the old run
when it was open, follows `WorkflowReset` to the new run.

**Runs of a queue.** A run whose second event is `WorkflowQueued` holds a
slot of its queue from its `RunDequeued` until it — and the runs a reset or
continue-as-new goes on in — closes (`Closings.when_closed` follows them).
So the new run of an open one takes its slot over when `to_seq` is after
its `RunDequeued`. Any other reset would run outside the queue's
limits and is refused (`check_queue`): of a run still queued (as `pause`
refuses it), to a point before the dequeue (the new run would start again
with no slot, or wait in no queue), and of a closed run (its slot is given
back: enqueue a new run instead).

**Crash safety.** From a closed run, the new run is one append (all or
nothing). From an open run, `WorkflowReset` is committed first and names the
new run; a crash before the new run's append leaves the old run closed and
the new run absent, and `recover` (at the next open) writes it from the old
history, which is all it needs. Fault point `reset` sits in that gap.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from aion_actors.core import (
    AionError,
    OperationRefused,
    RunKey,
    WorkflowStatus,
    faults,
    new_run_id,
    stamp,
    status_from_events,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime import pausing
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.host import Handoff
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.runs.entry import Undecided
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.waiters import TypeWaiters, Waiter
from aion_actors.store import EventStore, Recorder

log = logging.getLogger("aion_actors.runtime")

#: the events after which a reset may go on: the code had just been resumed with them
BOUNDARIES: tuple[type[ev.Event], ...] = (
    ev.WorkflowStarted,
    ev.ActivityCompleted,
    ev.ActivityFailed,
    ev.TimerFired,
    ev.SignalReceived,
    ev.WorkflowCancelRequested,
    ev.UpdateAccepted,
    ev.ChildRunStarted,
    ev.ChildCompleted,
    ev.ChildFailed,
    ev.ExternalRequestDone,
)

#: how long writing the new run may take
_WRITE_TIMEOUT = 30.0

#: sends a change request to a run and waits for its commit (`Requests.request`)
Send = Callable[[RunKey, msg.RequestMessage, float | None], None]


def boundaries(history: Sequence[ev.Event]) -> list[int]:
    """The seqs of `history` a reset may go on from, in order."""
    return [e.seq for e in history if isinstance(e, BOUNDARIES)]


def check_point(key: RunKey, history: Sequence[ev.Event], to_seq: int) -> None:
    """Refuse `to_seq` unless it is a reset point of `history`, naming the nearest ones."""
    valid = boundaries(history)
    if to_seq in valid:
        return
    run = f"workflow {key.workflow_id!r} (run {key.run_id})"
    if not 1 <= to_seq <= len(history):
        what = f"seq {to_seq} is not in its history (seq 1..{len(history)})"
    else:
        what = f"seq {to_seq} is a {history[to_seq - 1].kind}, not a point its code resumed at"
    before = [s for s in valid if s < to_seq][-1:]
    after = [s for s in valid if s > to_seq][:1]
    near = ", ".join(f"{s} ({history[s - 1].kind})" for s in before + after)
    raise OperationRefused(
        f"cannot reset {run} to seq {to_seq}: {what}; the nearest reset points are {near} "
        "(a WorkflowStarted, or an outcome delivered to the code: an activity completed or "
        "failed, a timer fired, a signal, a child's start or end, an accepted update)"
    )


def check_queue(key: RunKey, history: Sequence[ev.Event], to_seq: int, closed: bool) -> None:
    """Refuse a reset of a run that came through a queue unless the new run takes over the
    slot of the open run `key`: the run is `closed`, still queued, or `to_seq` precedes its
    dequeue (see the module docstring)."""
    came = history[1] if len(history) > 1 else None
    if not isinstance(came, ev.WorkflowQueued):
        return
    run = f"workflow {key.workflow_id!r} (run {key.run_id})"
    if closed:
        raise OperationRefused(
            f"cannot reset {run}: it came through queue {came.queue!r} and has closed, its "
            "slot given back, so a new run would run outside the queue's limits; enqueue a "
            "new run instead — nothing was recorded"
        )
    if Ledger(history).queued:
        raise pausing.queued(key)
    dequeued = next(e.seq for e in history if isinstance(e, ev.RunDequeued))
    if to_seq < dequeued:
        raise OperationRefused(
            f"cannot reset {run} to seq {to_seq}: it waited in queue {came.queue!r} until seq "
            f"{dequeued} (RunDequeued), and a new run from before then would start outside the "
            f"queue's limits; reset to a point after seq {dequeued} (the new run keeps its "
            "slot) — nothing was recorded"
        )


def successor_history(
    old: RunKey,
    history: Sequence[ev.Event],
    to_seq: int,
    run_id: str,
    reason: str,
    version: str,
    now: int,
) -> list[ev.Event]:
    """The events the new run `run_id` starts with (see the module docstring)."""
    started = history[0]
    assert isinstance(started, ev.WorkflowStarted)
    seed = (started.reset_from or {}).get("seed", old.run_id)
    origin = {"run_id": old.run_id, "seq": to_seq, "reason": reason, "at": now, "seed": seed}
    first = dataclasses.replace(started, run_id=run_id, version=version, reset_from=origin)
    prefix = [first, *history[1:to_seq]]
    then: list[ev.Event] = []
    if status_from_events(prefix) is WorkflowStatus.PARKED:
        then.append(ev.RunResumed())
    if Ledger(prefix).paused:
        then.append(ev.RunUnpaused())
    then += [
        ev.SignalReceived(name=e.name, payload=e.payload, request_id=e.request_id)
        for e in history[to_seq:]
        if isinstance(e, ev.SignalReceived)
    ]
    return prefix + [stamp(e, to_seq + i, now) for i, e in enumerate(then, 1)]


class Resets:
    def __init__(
        self,
        table: RunTable,
        residency: Residency,
        store: EventStore,
        recorder: Recorder,
        catalog: Catalog,
        waiters: TypeWaiters,
    ) -> None:
        self._waiters = waiters
        self._table = table
        self._residency = residency
        self._store = store
        self._recorder = recorder
        self._catalog = catalog
        #: callers of `reset` of an open run, by new run id: told once the new run is written
        self._waiting: dict[str, msg.Ack] = {}

    def reset(
        self, key: RunKey, to_seq: int, reason: str, timeout: float | None, send: Send
    ) -> str:
        """Reset the run `key` (its workflow_id's latest) to `to_seq`; the new run's id,
        returned once the new run is recorded."""
        history = self._store.read(*key)
        if not history:
            raise OperationRefused(f"run {key.run_id} of {key.workflow_id!r} has no history")
        run = self._store.get_run(*key)
        closed = run is not None and run.status.is_terminal
        check_queue(key, history, to_seq, closed)
        check_point(key, history, to_seq)
        version = self._definition_version(key, history[0])
        new_key = RunKey(key.workflow_id, new_run_id())
        if closed:
            self._reserve(new_key, history[0], version)
            self._go_on(key, history, to_seq, reason, new_key)
            return new_key.run_id
        written = self._waiting[new_key.run_id] = msg.Ack()
        try:
            request = msg.ResetRequest(reason, msg.Ack(), to_seq, new_key.run_id)
            send(key, request, timeout)
            written.wait(timeout)
        finally:
            self._waiting.pop(new_key.run_id, None)
        return new_key.run_id

    def closed(self, old: RunKey, closing: ev.WorkflowReset) -> None:
        """The open run `old` committed `closing` and its successor is reserved: write it
        (on the owner lane; `recover` does it after a crash)."""
        new_key = RunKey(old.workflow_id, closing.next_run_id)
        written = self._waiting.get(new_key.run_id) or msg.Ack()
        try:
            if faults.ARMED:
                faults.hit("reset")
            history = self._store.read(*old)[:-1]  # without its WorkflowReset
            self._go_on(old, history, closing.to_seq, closing.reason, new_key)
        except BaseException as exc:
            log.error("run %s could not go on from its reset: %r", new_key.run_id, exc)
            written.resolve(exc)
            return
        written.resolve()

    def recover(self, within: Callable[[str], bool] | None = None) -> None:
        """Write the new runs of resets a crash cut short (the old run closed, the new one
        never written); one whose workflow type is not registered yet waits for it."""
        for run in self._store.runs(status=WorkflowStatus.RESET):
            if within is None or within(run.workflow_id):
                self._recover(RunKey(run.workflow_id, run.run_id), run.workflow_type)

    def _recover(self, old: RunKey, workflow_type: str) -> None:
        if self._table.open_run(old.workflow_id) is not None:
            return
        try:
            history = self._store.read(*old)
        except AionError as exc:  # a damaged history costs only its run
            log.error("run %s: its history cannot be read (%s); skipped", old.run_id, exc)
            return
        closing = history[-1] if history else None
        if not isinstance(closing, ev.WorkflowReset):
            return
        new_key = RunKey(old.workflow_id, closing.next_run_id)
        if self._store.get_run(*new_key) is not None:
            return
        if self._catalog.workflow(workflow_type) is None:
            reason = f"waiting for workflow type {workflow_type!r} to write the run it reset to"
            waiter = Waiter(old, reason, lambda: self._recover(old, workflow_type))
            self._waiters.add(workflow_type, ("reset", old.workflow_id), waiter)
            return
        try:
            self._reserve(new_key, history[0], self._definition_version(old, history[0]))
            self._go_on(old, history[:-1], closing.to_seq, closing.reason, new_key)
        except AionError as exc:
            log.error("run %s could not go on from its reset: %s", new_key.run_id, exc)

    # -- helpers

    def _definition_version(self, key: RunKey, started: ev.Event) -> str:
        assert isinstance(started, ev.WorkflowStarted)
        definition = self._catalog.workflow(started.workflow_type)
        if definition is None:
            raise OperationRefused(
                f"cannot reset workflow {key.workflow_id!r}: its workflow type "
                f"{started.workflow_type!r} is not registered; register it first"
            )
        return definition.version

    def _reserve(self, key: RunKey, started: ev.Event, version: str) -> None:
        """Make `key` its workflow_id's open run; `WorkflowAlreadyStarted` if one is open."""
        assert isinstance(started, ev.WorkflowStarted)
        while True:
            try:
                self._table.reserve(
                    key, started.workflow_type, version, started.parent, refuse_open=True
                )
                return
            except Undecided as undecided:  # a batch of starts decides in microseconds
                undecided.decided.wait()

    def _go_on(
        self,
        old: RunKey,
        history: Sequence[ev.Event],
        to_seq: int,
        reason: str,
        new_key: RunKey,
    ) -> None:
        """Write the reserved run `new_key` from `old`'s history, then start its actor."""
        try:
            version = self._definition_version(old, history[0])
            now = self._residency.clock.now_ns()
            events = successor_history(old, history, to_seq, new_key.run_id, reason, version, now)
            committed = self._recorder.append(*new_key, events, 0, _WRITE_TIMEOUT)
        except BaseException:
            self._residency.refuse(new_key, self._table.withdraw(new_key))
            raise
        generation = self._table.admit(new_key, Handoff(committed))
        if generation is not None:
            self._residency.spawn(new_key, generation)
