"""`NodeRemote`: how a node's workflows reach runs of other nodes' partitions — a child's
start and ending, a `ctx` signal or cancel, a parent-close cancel (the runtime's
`Remote`, see `aion_actors.runtime.runs.elsewhere`).

Each call is a durable request row (see `aion_actors.nodes.forwarding`),
recorded before the call returns. Nobody blocks on its answer: the listener's
word that it arrived runs a callback on this node's one answer thread, which
takes the answer row and tells the caller — so a thousand parents waiting for
their children hold no thread. A caller that dies with its node loses nothing:
its run is replayed (here or on the node that takes its partition) and asks
again, and the owner takes a repeated call as done (a child start by its run
id, a `ctx` request by its id).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aion_actors.core import AionError, RunKey, faults
from aion_actors.core import events as ev
from aion_actors.core.codec import encode_event
from aion_actors.nodes.calls import NodeAnswer, NodeCall, new_request_id, rebuilt
from aion_actors.nodes.forwarding import Answers
from aion_actors.nodes.node import Node
from aion_actors.runtime.runs.elsewhere import Then
from aion_actors.store.postgres import partition_of
from aion_actors.store.postgres.nodestore import NodeStore

log = logging.getLogger("aion_actors.nodes")


class NodeRemote:
    def __init__(self, node: Node, store: NodeStore, answers: Answers) -> None:
        self._node = node
        self._store = store
        self._answers = answers
        #: one thread: the answers of one request are taken in order, never twice
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="aion-node-answers")
        self._closed = threading.Event()

    def owns(self, workflow_id: str) -> bool:
        return self._node.owns(workflow_id)

    def start_child(self, event: ev.ChildStarted, link: dict[str, Any], then: Then) -> None:
        call = NodeCall(
            "child",
            event.child_workflow_id,
            run_id=event.child_run_id,
            options={"link": link},
            payload=encode_event(event),
        )
        self._send(call, then)
        if faults.ARMED:
            faults.hit("child.requested")

    def when_closed(self, key: RunKey, then: Any) -> None:
        self._send(NodeCall("watch", key.workflow_id, run_id=key.run_id), lambda _: then())

    def external(self, event: ev.ExternalRequested, request_id: str, then: Then) -> None:
        call = NodeCall(
            "external", event.target_workflow_id, name=request_id, payload=encode_event(event)
        )
        self._send(call, then)

    def cancel(self, workflow_id: str, reason: str) -> None:
        call = NodeCall("cancel", workflow_id, reason=reason)
        partition = partition_of(workflow_id, self._store.partitions)
        self._store.put_requests([(new_request_id(), partition, call.encode())], reply=False)

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _send(self, call: NodeCall, then: Then) -> None:
        request_id = new_request_id()
        partition = partition_of(call.workflow_id, self._store.partitions)

        def arrived() -> None:
            if not self._closed.is_set():
                self._pool.submit(self._take, request_id, then)

        self._answers.on_answer(request_id, arrived)
        try:
            self._store.put_requests([(request_id, partition, call.encode())])
        except BaseException:
            self._answers.forget(request_id)
            raise

    def _take(self, request_id: str, then: Then) -> None:
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
