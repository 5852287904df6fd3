"""`Applier`: the owner's side of calls made on other nodes (see README "Calls from any
node").

Woken when a request is announced for a partition this node serves, when it
takes partitions (their requests left by a dead owner wait there) and when its
listener reconnects, its thread reads the requests waiting in those partitions
and hands each, once, to a small pool that applies it as the same call made
here would be — with the request's id, so that:

- the append that records its event deletes its row in the same transaction,
  fenced by the partition's epoch (`NodeStore.applying`), so a request is
  applied exactly once however often it is read, and none is lost when the
  owner dies before that commit: the next owner finds the row;
- a call that fails (or whose outcome is no event: a start handed another run
  by its policy, a resume) records its answer and deletes its row in one fenced
  transaction instead.

A node that loses the partition meanwhile answers nothing: its new owner does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import cast

from aion_actors.core import (
    AionError,
    CorruptEvent,
    EngineClosed,
    OwnershipLost,
    RunKey,
    WorkflowAlreadyStarted,
    WorkflowStatus,
    faults,
)
from aion_actors.core import events as ev
from aion_actors.core.codec import decode_event
from aion_actors.lookup import Lookup
from aion_actors.nodes.calls import NodeAnswer, NodeCall, home_key, queued_events
from aion_actors.nodes.verbs import KINDS as VERBS
from aion_actors.nodes.verbs import OwnerVerbs
from aion_actors.queues.service import Queues
from aion_actors.registration import Registration
from aion_actors.runtime import messages as msg
from aion_actors.runtime.runs import NewRun, RunManager
from aion_actors.runtime.service import Service
from aion_actors.runtime.timeouts import Timeouts
from aion_actors.starting import Starter, StartOptions, options_checked, policy_of
from aion_actors.store.postgres.nodestore import NodeStore
from supervisor import wait_long

log = logging.getLogger("aion_actors.nodes")

#: requests applied at once (each may wait for its run's commit)
_POOL = 8
_DEFAULT_TIMEOUT = 30.0
#: the event whose append consumes a request's row, when that event names no request id
_Awaited = tuple[str, str, str] | None
#: a request answered later (by the append that closes the run it watches)
_LATER = NodeAnswer(run_id="")


class Applier(Service):
    def __init__(
        self,
        store: NodeStore,
        serves: Callable[[int], bool],
        held: Callable[[], list[int]],
        runs: RunManager,
        starter: Starter,
        lookup: Lookup,
        registration: Registration,
        queues: Queues,
    ) -> None:
        super().__init__("aion-node-requests")
        self._store = store
        self._serves = serves
        self._held = held
        self._runs = runs
        self._starter = starter
        self._lookup = lookup
        self._registration = registration
        self._queues = queues
        self._verbs = OwnerVerbs(runs, lookup, registration, store)
        self._wanted: set[int] = set()
        self._inflight: set[str] = set()
        #: requests applied here (their rows answered or consumed) since the read before the
        #: last began: a read made while one was applied may list it still, not to apply again
        self._done: set[str] = set()
        #: the waits of `external` requests in flight: ended at once by `close`
        self._waits: set[threading.Event] = set()
        #: joined by `join` once the runs have stopped (a worker waiting for a run is
        #: then answered `EngineClosed`); a request not applied stays for the next owner
        self._jobs: queue.SimpleQueue[tuple[str, int, bytes] | None] = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"aion-node-apply-{i}", daemon=True)
            for i in range(_POOL)
        ]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()
        super().start()

    def wake(self, partitions: set[int] | frozenset[int] | None = None) -> None:
        """Requests may wait in `partitions` (None: every partition served here)."""
        with self._cond:
            self._wanted |= set(self._held() if partitions is None else partitions)
            self._cond.notify()

    def close(self) -> None:
        """Take no more requests; the workers end once what they apply is answered
        (see `join`)."""
        super().close()
        for _ in self._workers:
            self._jobs.put(None)

    def _stopping(self) -> None:
        for done in self._waits:  # (their rows stay for the next owner)
            done.set()

    def join(self, timeout: float) -> None:
        """Wait for the workers (after the runs stopped: none waits for a run then)."""
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            if worker.is_alive():
                worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                log.warning("node request worker %s still applies a request", worker.name)

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._wanted and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                wanted, self._wanted = self._wanted, set()
                done_before = set(self._done)  # (gone before this read: it cannot list them)
            served = sorted(p for p in wanted if self._serves(p))
            if not served:
                continue
            try:
                found = self._store.pending_requests(served)
            except AionError as exc:
                log.warning("node requests of partitions %s not read (%s)", served, exc)
                continue
            with self._cond:
                self._done -= done_before
            for request_id, partition, data in found:
                with self._cond:
                    if request_id in self._inflight or request_id in self._done:
                        continue
                    self._inflight.add(request_id)
                self._jobs.put((request_id, partition, data))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._stopped:  # (its row stays for the partition's next owner)
                with self._cond:
                    self._inflight.discard(job[0])
                continue
            try:
                self._apply(*job)
            except Exception:
                log.exception("request %s could not be applied", job[0])

    def _apply(self, request_id: str, partition: int, data: bytes) -> None:
        left = True
        try:
            try:
                call = NodeCall.decode(data)
            except CorruptEvent as exc:
                log.error("request %s (partition %d) is unreadable: %s", request_id, partition, exc)
                return
            if faults.ARMED:
                faults.hit("request.applying")
            left = not self._settle(request_id, call, partition)
        finally:
            with self._cond:
                self._inflight.discard(request_id)
                if not left:  # (a read begun before its row went may list it still)
                    self._done.add(request_id)
        # its row may be left: read again if this node (still, or again) serves its partition
        # (a scan made while it was in flight here skipped it)
        if left:
            self.wake({partition} if self._serves(partition) else set())

    def _settle(self, request_id: str, call: NodeCall, partition: int) -> bool:
        """Apply the request; False if its row is left for another try (here or on the
        partition's next owner)."""
        awaited: list[_Awaited] = []
        answer: NodeAnswer | None
        try:
            answer = self._applied(request_id, call, awaited)
        except (OwnershipLost, EngineClosed):
            return False  # the partition moved (or this node closes): its next owner applies it
        except TimeoutError as exc:  # still in the run's hands: read again
            if call.kind == "query":  # (its caller gave up: its row is withdrawn)
                return True
            log.warning("request %s (%s) not recorded yet: %s", request_id, call.kind, exc)
            return False
        except Exception as exc:
            if not self._serves(partition):
                return False  # dropped while it was applied here: its new owner applies it
            answer = NodeAnswer.failed(exc)
        finally:
            consumed = any([self._store.applied(request_id, event) for event in awaited])
        if answer is _LATER or (answer is None and consumed):
            return True  # its row went with its event, in one transaction (or goes with one)
        try:
            data = (answer or NodeAnswer()).encode()
            fenced_by = home_key(str(call.name)) if call.kind == "enqueue" else call.workflow_id
            self._store.answer_request(request_id, fenced_by, data)
        except AionError as exc:
            log.warning("request %s: its answer was not recorded (%s)", request_id, exc)
            return False
        return True

    def _applied(
        self, request_id: str, call: NodeCall, awaited: list[_Awaited]
    ) -> NodeAnswer | None:
        """Apply `call` here; None when done as asked (its row consumed by its event's
        append, or to be deleted), else the answer to record."""
        wid = call.workflow_id
        timeout = call.timeout if call.timeout is not None else _DEFAULT_TIMEOUT

        def expect(event: _Awaited) -> None:
            awaited.append(event)
            self._store.applying(request_id, event)

        if call.kind == "start":
            run_id = str(call.run_id)
            definition = self._registration.workflow(str(call.workflow_type))
            options = cast(StartOptions, call.options)
            timeouts, memo = options_checked(options)
            after = queued_events(call.queued)
            new = NewRun(wid, run_id, call.args, None, timeouts, memo=memo, after=after)
            expect(("WorkflowStarted", wid, run_id))
            try:
                [key] = self._starter.start_new(definition, [new], policy_of(options))
            except WorkflowAlreadyStarted as exc:
                if exc.run_id != run_id:
                    raise
                key = RunKey(wid, run_id)  # started by this request before
            return None if key.run_id == run_id else NodeAnswer(run_id=key.run_id)
        if call.kind == "enqueue":  # (at the queue's home)
            run_key = RunKey(wid, str(call.run_id))
            key = self._queues.enqueue_request(
                str(call.name), str(call.workflow_type), run_key, call.args, call.options
            )
            return NodeAnswer(run_id=key.run_id, value=key.workflow_id)  # (a dedup's: another)
        if call.kind == "dequeue":  # (from the queue's home)
            key = RunKey(wid, str(call.run_id))
            expect(("RunDequeued", wid, key.run_id))
            self._runs.request(key, msg.DequeueRequest(msg.Ack()), timeout)
            return None
        if call.kind in VERBS:
            return self._verbs.apply(request_id, call, expect, timeout)
        if call.kind == "child":
            return self._child(call, expect)
        if call.kind == "external":
            return self._external(call, timeout)
        if call.kind == "query":
            name, args = str(call.name), tuple(call.args)
            value = self._runs.query(self._lookup.latest_key(wid), name, args, timeout)
            return NodeAnswer(value=value)
        if call.kind == "watch":
            return self._watch(request_id, (wid, str(call.run_id)), bool(call.options.get("parks")))
        if call.kind == "resume":
            self._registration.resume(self._lookup.latest(wid))
            return NodeAnswer()
        if call.kind == "cancel" and self._queues.cancel(wid, call.reason, timeout):
            return NodeAnswer()  # it was queued: it never runs
        key = self._lookup.open_run(wid, _what(call))
        request: msg.RequestMessage
        ack = msg.Ack(follows=True)  # by workflow_id: on along a continue-as-new chain
        if call.kind == "signal":
            expect(None)  # its event carries the request id
            request = msg.Signal(str(call.name), call.payload, ack, request_id)
        elif call.kind == "cancel":
            expect(None)
            request = msg.CancelRequest(call.reason, ack, request_id)
        else:
            expect(("WorkflowTerminated", wid, key.run_id))
            request = msg.TerminateRequest(call.reason, ack)
        self._runs.request(key, request, timeout)
        return None

    def _child(self, call: NodeCall, expect: Callable[[_Awaited], None]) -> NodeAnswer | None:
        """Start a workflow's child held here, once: a start repeated (its parent replayed)
        finds its run and is done."""
        event = decode_event(call.payload)
        if not isinstance(event, ev.ChildStarted):
            raise CorruptEvent(f"a child request carries a {event.kind}")
        key = RunKey(event.child_workflow_id, event.child_run_id)
        if self._store.get_run(*key) is not None:
            return NodeAnswer()  # started by this request (or a repeat of it) before
        definition = self._registration.workflow(event.workflow_type)
        link = dict(call.options.get("link") or {})
        new = NewRun(*key, list(event.input or []), link, Timeouts.of_child(event))
        expect(("WorkflowStarted", *key))
        try:
            self._starter.start_new(definition, [new], None)
        except WorkflowAlreadyStarted as exc:
            if exc.run_id != key.run_id:
                raise
        return None

    def _external(self, call: NodeCall, timeout: float) -> NodeAnswer:
        """A workflow's `ctx` signal or cancel of a run held here, under the request id
        its target records (so it is recorded once, however often it is asked)."""
        event = decode_event(call.payload)
        if not isinstance(event, ev.ExternalRequested):
            raise CorruptEvent(f"an external request carries a {event.kind}")
        outcome: list[BaseException | None] = []
        done = threading.Event()

        def answer(error: BaseException | None) -> None:
            outcome.append(error)
            done.set()

        with self._cond:
            if self._stopped:
                raise EngineClosed()
            self._waits.add(done)
        try:
            self._runs.external(event, str(call.name), answer)
            if not wait_long(done.wait, timeout):
                raise TimeoutError(f"the target {event.target_workflow_id!r} did not record it")
        finally:
            with self._cond:
                self._waits.discard(done)
        if not outcome:  # (the engine closed while it waited: its row stays)
            raise EngineClosed()
        return NodeAnswer() if outcome[0] is None else NodeAnswer.failed(outcome[0])

    def _watch(self, request_id: str, run: tuple[str, str], parks: bool) -> NodeAnswer | None:
        """Answer `request_id` when `run` closes (or, `parks`, parks): by the append that
        closes (parks) it, or now."""
        self._store.watching(request_id, run, parks=parks)
        found = self._store.get_run(*run)
        parked = found is not None and found.status is WorkflowStatus.PARKED
        if found is not None and not found.status.is_terminal and not (parks and parked):
            return _LATER
        self._store.watching(request_id, run, stop=True)
        return NodeAnswer()


def _what(call: NodeCall) -> str:
    return f"signal {call.name!r}" if call.kind == "signal" else call.kind
