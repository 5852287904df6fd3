"""`QueueNodes`: a queue's limits held across nodes (see `aion_actors.queues.spread`).

Its requests ride the calls between nodes (`forwarding`, `applier`): an
enqueue made away from the queue's home is a durable `enqueue` request in
the home's partition, applied once by the home (idempotent by the run id
the caller chose, so a home that dies mid-way is replaced by one that
applies it again harmlessly); a slot given to a run of another node is a
`dequeue` request in the run's partition, whose row goes in the transaction
that appends its `RunDequeued` (a second one for the same run is refused:
the run is not queued any more); the home hears of a run's closing by a
`watch` request answered by the append that closes it. Answers call back
(`Answers.on_answer`, woken by the listener's NOTIFY), on a lane — nobody
waits in a thread per run, nobody polls. A new home finds the grants of the
old one still waiting in the requests table (`granted`) and follows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aion_actors.core import AionError, CorruptEvent, RunKey
from aion_actors.nodes.calls import NodeAnswer, NodeCall, home_key, new_request_id
from aion_actors.nodes.forwarding import START_TIMEOUT, Answers, Forwarder
from aion_actors.nodes.node import Node
from aion_actors.queues.spread import Done
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.runs import NewRun
from aion_actors.store import RunSummary
from aion_actors.store.postgres import partition_of
from aion_actors.store.postgres.nodestore import NodeStore


class QueueNodes:
    def __init__(self, node: Node, store: NodeStore, forwarder: Forwarder, answers: Answers):
        self._node = node
        self._store = store
        self._forwarder = forwarder
        self._answers = answers
        #: reads the answers that came (off the listener's thread)
        self._lane = Lane("aion-queue-nodes")

    def _home(self, queue: str) -> int:
        return partition_of(home_key(queue), self._store.partitions)

    def home(self, queue: str) -> bool:
        return self._node.serves(self._home(queue))

    def homes_in(self, partitions: frozenset[int], queues: Sequence[str]) -> list[str]:
        return [queue for queue in queues if self._home(queue) in partitions]

    def owns(self, workflow_id: str) -> bool:
        return self._node.owns(workflow_id)

    def open_runs(self) -> list[RunSummary]:
        return self._store.every_open_run()

    def enqueue(
        self, queue: str, workflow_type: str, new: NewRun, options: dict[str, Any]
    ) -> RunKey:
        call = NodeCall.for_run("enqueue", workflow_type, new, options, name=queue)
        [answer] = self._forwarder.call([call], START_TIMEOUT, self._home(queue))
        workflow_id = answer.value if isinstance(answer.value, str) else new.workflow_id
        return RunKey(workflow_id, answer.run_id or new.run_id)

    def start(self, workflow_type: str, new: NewRun, options: dict[str, Any]) -> RunKey:
        [key] = self._forwarder.start(workflow_type, [new], options)
        return key

    def dequeue(self, queue: str, run: RunKey, done: Done) -> None:
        call = NodeCall("dequeue", run.workflow_id, run_id=run.run_id, name=queue)
        self._send(call, lambda answer: done(_error(answer)))

    def watch(self, run: RunKey, closed: Callable[[], None]) -> None:
        call = NodeCall("watch", run.workflow_id, run_id=run.run_id)
        self._send(call, lambda answer: closed())

    def granted(self, queue: str) -> list[tuple[str, RunKey]]:
        found = []
        for request_id, _, data in self._store.pending_requests(
            list(range(self._store.partitions))
        ):
            try:
                call = NodeCall.decode(data)
            except CorruptEvent:
                continue
            if call.kind == "dequeue" and call.name == queue and call.run_id is not None:
                found.append((request_id, RunKey(call.workflow_id, call.run_id)))
        return found

    def follow(self, request_id: str, done: Done) -> None:
        self._await(request_id, lambda answer: done(_error(answer)))
        self._lane.submit(self._look, request_id, lambda answer: done(_error(answer)))

    def close(self) -> None:
        self._lane.close(drop=True)

    def _send(self, call: NodeCall, answered: Callable[[NodeAnswer], None]) -> None:
        """Record `call` in its run's partition; `answered` once its owner applied it."""
        request_id = new_request_id()
        partition = partition_of(call.workflow_id, self._store.partitions)
        self._await(request_id, answered)
        try:
            self._store.put_requests([(request_id, partition, call.encode())])
        except BaseException:
            self._answers.forget(request_id)
            raise

    def _await(self, request_id: str, answered: Callable[[NodeAnswer], None]) -> None:
        """Each word of `request_id`'s answer reads it, until it is handed on."""
        self._answers.on_answer(
            request_id, lambda: self._lane.submit(self._look, request_id, answered)
        )

    def _look(self, request_id: str, answered: Callable[[Any], None]) -> None:
        """Read `request_id`'s answer: hand it on once, or wait for the next word of it
        (its callback stays registered until it is settled; a word heard twice reads
        twice, and the second finds it settled)."""
        try:
            done, data = self._store.take_answer(request_id)
        except AionError:
            return  # the listener's reconnection looks again
        if not done or not self._answers.settle(request_id):
            return
        answered(NodeAnswer() if data is None else NodeAnswer.decode(data))


def _error(answer: NodeAnswer) -> BaseException | None:
    try:
        answer.raise_error()
    except AionError as exc:
        return exc
    return None


def homes_first(node: Node, taken: Callable[[frozenset[int]], None]) -> None:
    """When `node` takes partitions, the queues homed in them get their state (`taken`)
    before the requests waiting there are applied."""
    then = node.on_taken

    def on_taken(partitions: frozenset[int]) -> None:
        taken(partitions)
        then(partitions)

    node.on_taken = on_taken
