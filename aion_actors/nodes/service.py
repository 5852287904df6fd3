"""`NodeCalls`: what lets a node take calls for any run (see README "Calls from any
node"): the forwarder that sends calls to the owners of other partitions, the
applier that applies the calls sent here, the listener that wakes both, and the
writer of the requests handed on to the owners of partitions this node lost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aion_actors.lookup import Lookup
from aion_actors.nodes.applier import Applier
from aion_actors.nodes.forwarding import Answers, Forwarder
from aion_actors.nodes.handed import HandedOn
from aion_actors.nodes.listener import Hearers, Listener
from aion_actors.nodes.node import Node
from aion_actors.nodes.remote import NodeRemote
from aion_actors.queues.service import Queues
from aion_actors.registration import Registration
from aion_actors.runtime.runs import RunManager
from aion_actors.starting import Starter
from aion_actors.store.postgres.nodestore import NodeStore

#: seconds `join` waits for a worker still applying a request (a store call in flight)
JOIN_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class NodeCalls:
    forwarder: Forwarder
    applier: Applier
    listener: Listener
    handed: HandedOn

    @classmethod
    def wire(
        cls,
        node: Node,
        forwarder: Forwarder,
        answers: Answers,
        runs: RunManager,
        starter: Starter,
        lookup: Lookup,
        registration: Registration,
        queues: Queues,
    ) -> NodeCalls:
        store = node.store
        applier = Applier(
            store, node.serves, node.served, runs, starter, lookup, registration, queues
        )
        node.on_taken = applier.wake
        handed = HandedOn(store)
        remote = NodeRemote(node, store, forwarder, handed)
        runs.wait_elsewhere(forwarder.wait_closed, remote)
        hearers = Hearers(
            request=lambda partition: applier.wake({partition}),
            answer=answers.arrived,
            closed=lambda workflow_id, run_id: None,
            connected=lambda: _all(applier.wake, answers.look_again),
        )
        return cls(forwarder, applier, Listener(store, hearers), handed)

    def start(self) -> None:
        """Apply what waits in the partitions this node took, then listen."""
        self.handed.start()
        self.applier.start()
        self.listener.start()

    def close(self) -> None:
        """Stop listening and taking requests (see `join` for the workers)."""
        self.listener.close()
        self.applier.close()
        self.forwarder.close()

    def join(self, timeout: float = JOIN_TIMEOUT) -> None:
        """Once the runs have stopped (no request applied waits for one, none is handed
        on any more): join the applier's workers, and stop writing the requests handed
        on (what is still unwritten is logged as lost)."""
        self.applier.join(timeout)
        self.handed.close()


def node_forwarder(node: Node, store: NodeStore) -> tuple[Forwarder, Answers]:
    answers = Answers()
    return Forwarder(node, store, answers), answers


def _all(*calls: Callable[[], None]) -> None:
    for call in calls:
        call()
