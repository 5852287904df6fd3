"""The requester's side of a call for a run another node owns (see README "Calls from
any node").

`Forwarder` writes the call as a durable request row (see
`store.postgres._requests`), announced to the partition's owner in the same
transaction: from that commit on the call is not lost, whatever dies. It then
waits for the owner's answer — woken by the answer's `NOTIFY` through this
node's listener, never by polling — and returns or raises as the same call
does on the owner (`WorkflowAlreadyStarted`, `WorkflowClosed`, ...). No answer
within the call's timeout raises `TimeoutError`, saying that the request is
recorded and will still be applied once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from aion_actors.core import AionError, QueryError, RunKey, faults
from aion_actors.nodes.calls import NodeAnswer, NodeCall, new_request_id, queued_fields, rebuilt
from aion_actors.nodes.node import Node
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.messages import Ack
from aion_actors.runtime.runs import NewRun
from aion_actors.store.postgres import partition_of
from aion_actors.store.postgres.nodestore import NodeStore, cluster, owner_of
from supervisor import wait_long

log = logging.getLogger("aion_actors.nodes")

#: seconds a start made on another node waits for the owner's answer
START_TIMEOUT = 30.0


class Answers:
    """The calls this node waits to hear answered: woken by the listener."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        #: requests answered to a callback rather than a waiting thread
        self._then: dict[str, Callable[[], object]] = {}

    def on_answer(self, request_id: str, callback: Callable[[], object]) -> None:
        """`callback()` each time request `request_id` may have been answered, until forgotten."""
        with self._lock:
            self._then[request_id] = callback

    def expect(self, request_id: str) -> threading.Event:
        with self._lock:
            return self._waiting.setdefault(request_id, threading.Event())

    def forget(self, request_id: str) -> None:
        with self._lock:
            self._waiting.pop(request_id, None)
            self._then.pop(request_id, None)

    def settle(self, request_id: str) -> bool:
        """Stop calling back for `request_id`; False if it was settled before."""
        with self._lock:
            return self._then.pop(request_id, None) is not None

    def arrived(self, request_id: str) -> None:
        with self._lock:
            event = self._waiting.get(request_id)
            then = self._then.get(request_id)
        if event is not None:
            event.set()
        if then is not None:
            then()

    def look_again(self) -> None:
        """Every waiter reads the store again (the listener reconnected)."""
        with self._lock:
            events = list(self._waiting.values())
            thens = list(self._then.values())
        for event in events:
            event.set()
        for then in thens:
            then()


class Forwarder:
    """A node's gate for starts, and the way its calls reach runs of other nodes."""

    def __init__(self, node: Node, store: NodeStore, answers: Answers) -> None:
        self._node = node
        self._store = store
        self._answers = answers
        #: one thread takes the answers nobody blocks for: in order, never twice
        self._lane = Lane("aion-node-answers")

    # -- the gate the starter asks (see `aion_actors.starting.Gate`)

    def owns(self, workflow_id: str) -> bool:
        return self._node.owns(workflow_id)

    def check(self, workflow_id: str, what: str) -> None:
        self._node.check(workflow_id, what)

    def fresh_id(self) -> str:
        return self._node.fresh_id()

    # -- calls

    def start(
        self, workflow_type: str, new: Sequence[NewRun], options: dict[str, Any]
    ) -> list[RunKey]:
        """Start `new` runs of other nodes' partitions; each one's key once its owner
        recorded it (or handed back another run, as a start policy may)."""
        calls = [
            NodeCall.for_run("start", workflow_type, run, options, queued=queued_fields(run.after))
            for run in new
        ]
        answers = self.call(calls, START_TIMEOUT)
        return [
            RunKey(run.workflow_id, answer.run_id or run.run_id)
            for run, answer in zip(new, answers, strict=True)
        ]

    def signal(self, workflow_id: str, name: str, payload: Any, timeout: float | None) -> None:
        call = NodeCall("signal", workflow_id, name=name, payload=payload, timeout=timeout)
        self.call([call], timeout)

    def cancel(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        self.call([NodeCall("cancel", workflow_id, reason=reason, timeout=timeout)], timeout)

    def terminate(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        self.call([NodeCall("terminate", workflow_id, reason=reason, timeout=timeout)], timeout)

    def resume(self, workflow_id: str) -> None:
        self.call([NodeCall("resume", workflow_id)], START_TIMEOUT)

    def pause(self, workflow_id: str, reason: str, timeout: float | None) -> None:
        self.call([NodeCall("pause", workflow_id, reason=reason, timeout=timeout)], timeout)

    def unpause(self, workflow_id: str, timeout: float | None) -> None:
        self.call([NodeCall("unpause", workflow_id, timeout=timeout)], timeout)

    def reset(
        self, workflow_id: str, run_id: str, to_seq: int, reason: str, timeout: float | None
    ) -> str:
        """The new run's id; `run_id` is the run reset (the latest the caller saw)."""
        call = NodeCall(
            "reset",
            workflow_id,
            run_id=run_id,
            reason=reason,
            timeout=timeout,
            options={"to_seq": to_seq},
        )
        [answer] = self.call([call], timeout)
        return answer.run_id or str(answer.value)

    def update(
        self,
        workflow_id: str,
        name: str,
        payload: Any,
        update_id: str,
        timeout: float | None,
        fresh: bool = False,
    ) -> dict[str, Any]:
        """The owner's `UpdateCompleted` fields: `result`, `error`. A `fresh` id (made up
        for this call) says so: the owner searches no earlier run for it (absent: it does)."""
        options: dict[str, Any] = {"update_id": update_id}
        if fresh:
            options["fresh"] = True
        call = NodeCall(
            "update", workflow_id, name=name, payload=payload, timeout=timeout, options=options
        )
        [answer] = self.call([call], timeout)
        return dict(answer.value or {})

    def signal_start(
        self, workflow_type: str, run: NewRun, options: dict[str, Any], timeout: float | None
    ) -> RunKey:
        """Start `run` with its signal on its owner, or signal the open run there; the run
        that got the signal (the owner answers its id, or, when its append answered,
        the store says: the run started here, else the latest)."""
        assert run.signal is not None
        name, payload = run.signal
        call = NodeCall.for_run(
            "signal_start",
            workflow_type,
            run,
            options,
            name=name,
            payload=payload,
            timeout=timeout,
        )
        [answer] = self.call([call], timeout)
        if answer.run_id:
            return RunKey(run.workflow_id, answer.run_id)
        if self._store.get_run(*run.key) is not None:
            return run.key
        latest = self._store.latest_run(run.workflow_id)
        return RunKey(run.workflow_id, latest.run_id if latest else run.run_id)

    def begin(self, workflow_type: str, run: NewRun, options: dict[str, Any]) -> Ack:
        """Start `run` of another node's partition without waiting: the `Ack` resolves
        with its owner's answer (`AsyncEngine`)."""
        ack = Ack()
        self.later(NodeCall.for_run("start", workflow_type, run, options), ack.resolve)
        return ack

    def later(self, call: NodeCall, then: Callable[[BaseException | None], Any]) -> str:
        """Record `call` (durable when this returns); `then` hears its answer on this
        node's answer thread — nobody blocks for it. Returns its request id."""
        request_id = new_request_id()
        partition = partition_of(call.workflow_id, self._store.partitions)

        def arrived() -> None:
            self._lane.submit(self._take, request_id, then)

        self._answers.on_answer(request_id, arrived)
        try:
            self._store.put_requests([(request_id, partition, call.encode())])
        except BaseException:
            self._answers.forget(request_id)
            raise
        return request_id

    def withdraw(self, request_id: str) -> None:
        """The caller of a `later` call that changes nothing (a watch) stops waiting: its
        answer is not handed on, and its row is deleted on the answer thread (this never
        blocks) — unless it was answered already."""
        if self._answers.settle(request_id):
            self._lane.submit(self._withdrawn, request_id)

    def _withdrawn(self, request_id: str) -> None:
        try:
            self._store.withdraw_request(request_id)
        except AionError as exc:  # its owner answers it in the end (the run closes)
            log.warning("request %s was not withdrawn (%s)", request_id, exc)

    def _take(self, request_id: str, then: Callable[[BaseException | None], Any]) -> None:
        try:
            done, data = self._store.take_answer(request_id)
        except AionError as exc:  # read again when the listener connects again
            log.warning("the answer to request %s was not read (%s)", request_id, exc)
            return
        if not done or not self._answers.settle(request_id):
            return  # not yet answered, or told before
        answer = NodeAnswer() if data is None else NodeAnswer.decode(data)
        try:
            then(None if answer.error is None else rebuilt(answer.error))
        except Exception:
            log.exception("the answer to request %s could not be handed on", request_id)

    def close(self) -> None:
        """Stop taking answers (those not taken stay recorded) and join the thread."""
        self._lane.close(drop=True)

    def query(self, workflow_id: str, name: str, args: Sequence[Any], timeout: float | None) -> Any:
        """Ask the owner's live run; `QueryError` naming the owner and why when no answer
        comes within `timeout`."""
        call = NodeCall("query", workflow_id, name=name, args=list(args), timeout=timeout)
        request_id = new_request_id()
        partition = partition_of(workflow_id, self._store.partitions)
        self._answers.expect(request_id)
        try:
            self._store.put_requests([(request_id, partition, call.encode())], within=timeout)
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                answer = self._answer(request_id, call, deadline, timeout)
            except TimeoutError:
                self._store.withdraw_request(request_id)
                raise QueryError(self._unanswered(call, partition, timeout)) from None
        finally:
            self._answers.forget(request_id)
        answer.raise_error()
        return answer.value

    def _unanswered(self, call: NodeCall, partition: int, timeout: float | None) -> str:
        nodes, leases, _ = cluster(self._store)
        owner = next((lease.owner for lease in leases if lease.partition == partition), None)
        alive = {node.node_id: node.alive for node in nodes}
        if owner is None:
            why = "no node owns it right now (it moves to another node)"
        elif not alive.get(owner, False):
            why = f"node {owner!r}, its owner, has stopped renewing its lease (gone or frozen)"
        else:
            why = f"node {owner!r}, its owner, did not answer in time (busy, or frozen)"
        return (
            f"query {call.name!r} of workflow {call.workflow_id!r} was not answered within "
            f"{timeout} s: its partition {partition} is not this node's and {why}"
        )

    def wait_closed(self, key: RunKey, timeout: float | None, parks: bool = False) -> bool:
        """Wait until run `key` (held by another node, or by none yet) has closed (or,
        `parks`, parked); False after `timeout`. The owner answers by the append that
        closes (parks) it."""
        call = NodeCall.watch(key, parks=parks)
        request_id = new_request_id()
        partition = partition_of(key.workflow_id, self._store.partitions)
        self._answers.expect(request_id)
        try:
            self._store.put_requests([(request_id, partition, call.encode())], within=timeout)
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                self._answer(request_id, call, deadline, timeout)
            except TimeoutError:
                self._store.withdraw_request(request_id)
                return False
            return True
        finally:
            self._answers.forget(request_id)

    def call(
        self, calls: Sequence[NodeCall], timeout: float | None, partition: int | None = None
    ) -> list[NodeAnswer]:
        """Record `calls` in one transaction (in their runs' partitions, or `partition`),
        then wait for every answer; the first error answered is raised once all are
        answered."""
        partitions = self._store.partitions
        ids = [new_request_id() for _ in calls]
        for request_id in ids:
            self._answers.expect(request_id)
        try:
            self._store.put_requests(
                [
                    (
                        request_id,
                        partition_of(call.workflow_id, partitions)
                        if partition is None
                        else partition,
                        call.encode(),
                    )
                    for request_id, call in zip(ids, calls, strict=True)
                ],
                within=timeout,  # a store that does not answer holds the caller no longer
            )
            if faults.ARMED:
                faults.hit("request.written")
            deadline = None if timeout is None else time.monotonic() + timeout
            answers = [
                self._answer(request_id, call, deadline, timeout)
                for request_id, call in zip(ids, calls, strict=True)
            ]
        finally:
            for request_id in ids:
                self._answers.forget(request_id)
        for answer in answers:
            answer.raise_error()
        return answers

    def _answer(
        self, request_id: str, call: NodeCall, deadline: float | None, timeout: float | None
    ) -> NodeAnswer:
        arrived = self._answers.expect(request_id)
        while True:
            arrived.clear()
            done, data = self._store.take_answer(request_id)
            if done:
                return NodeAnswer() if data is None else NodeAnswer.decode(data)
            left = None if deadline is None else deadline - time.monotonic()
            if (left is not None and left <= 0) or not wait_long(arrived.wait, left):
                raise TimeoutError(self._late(request_id, call, timeout))

    def _late(self, request_id: str, call: NodeCall, timeout: float | None) -> str:
        partition = partition_of(call.workflow_id, self._store.partitions)
        owner = owner_of(self._store, partition)
        who = f"its owner {owner!r}" if owner else "no node owning it now"
        return (
            f"the {call.kind} of workflow {call.workflow_id!r} is recorded (request "
            f"{request_id}) but partition {partition}'s owner did not apply it within "
            f"{timeout} s ({who}); it stays recorded and is applied once when a node owns "
            "the partition — do not repeat the call"
        )
