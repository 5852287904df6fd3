"""`NodeRemote`: how a node's workflows reach runs of other nodes' partitions — a child's
start and ending, a `ctx` signal or cancel, a parent-close cancel (the runtime's
`Remote`, see `aion_actors.runtime.runs.elsewhere`).

Each call is a durable request row, recorded before the call returns. Nobody
blocks on its answer (`Forwarder.later`): the listener's word that it arrived
runs a callback on this node's one answer thread, which takes the answer row
and tells the caller — so a thousand parents waiting for
their children hold no thread. A caller that dies with its node loses nothing:
its run is replayed (here or on the node that takes its partition) and asks
again, and the owner takes a repeated call as done (a child start by its run
id, a `ctx` request by its id). A request handed on (`hand_on`: its caller has
gone, its partition left this node) is the one whose row is written later, in
the background, tried until it is (`HandedOn`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from aion_actors.core import AionError, OwnershipLost, RunKey, faults
from aion_actors.core import events as ev
from aion_actors.core.codec import encode_event
from aion_actors.nodes.calls import NodeCall, new_request_id
from aion_actors.nodes.forwarding import Forwarder
from aion_actors.nodes.handed import Handed, HandedOn
from aion_actors.nodes.node import Node
from aion_actors.runtime import messages as msg
from aion_actors.runtime.runs.elsewhere import Then
from aion_actors.runtime.runs.handing import durable
from aion_actors.store.postgres import partition_of
from aion_actors.store.postgres.nodestore import NodeStore, cluster

log = logging.getLogger("aion_actors.nodes")


class NodeRemote:
    def __init__(
        self, node: Node, store: NodeStore, forwarder: Forwarder, handed: HandedOn
    ) -> None:
        self._node = node
        self._store = store
        self._forwarder = forwarder
        self._handed = handed

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
        self._forwarder.later(call, then)
        if faults.ARMED:
            faults.hit("child.requested")

    def when_closed(
        self, key: RunKey, then: Callable[[], None], parks: bool = False
    ) -> Callable[[], None]:
        request_id = self._forwarder.later(NodeCall.watch(key, parks=parks), lambda _: then())
        return functools.partial(self._forwarder.withdraw, request_id)

    def external(self, event: ev.ExternalRequested, request_id: str, then: Then) -> None:
        call = NodeCall(
            "external", event.target_workflow_id, name=request_id, payload=encode_event(event)
        )
        self._forwarder.later(call, then)

    def moved(self, key: RunKey) -> AionError | None:
        """A message for open run `key` found no run here: `OwnershipLost` when its partition
        is another node's now (the caller sends the call there), None if it is this one's."""
        if self._node.owns(key.workflow_id):
            return None
        partition = partition_of(key.workflow_id, self._store.partitions)
        _, leases, _ = cluster(self._store)
        lease = next((lease for lease in leases if lease.partition == partition), None)
        held = self._store.fence.held().get(partition)
        epoch, owner = (lease.epoch, lease.owner) if lease else (0, None)
        return OwnershipLost(partition, self._node.node_id, held, epoch, owner)

    def cancel(self, workflow_id: str, reason: str) -> None:
        call = NodeCall("cancel", workflow_id, reason=reason)
        partition = partition_of(workflow_id, self._store.partitions)
        self._store.put_requests([(new_request_id(), partition, call.encode())], reply=False)

    def hand_on(self, key: RunKey, request: msg.RequestMessage) -> None:
        """Hand `request` (its caller stopped waiting; refused here, nothing of it
        recorded, as its run's partition left this node) to the partition's owner, which
        applies it once: its row is written in the background, tried until it is (see
        `HandedOn`). A kind with no durable form is logged as not recorded."""
        form = durable(request)
        run = f"workflow {key.workflow_id!r} (run {key.run_id})"
        if form is None:
            log.warning(
                "%s of %s was not recorded: its partition left this node", request.what, run
            )
            return
        partition = partition_of(key.workflow_id, self._store.partitions)
        try:
            data = NodeCall(
                form.kind, key.workflow_id, name=form.name, payload=form.payload, reason=form.reason
            ).encode()
        except Exception:  # (this runs on whichever thread resolved the request)
            log.exception(
                "%s of %s was lost with its partition: it could not be made a request for "
                "the partition's owner",
                request.what,
                run,
            )
            return
        self._handed.add(Handed(key, request.what, (new_request_id(), partition, data)))
