"""The parts an `Engine` is made of, each built here with its collaborators.

`wire` is the one place that knows which part needs which: the engine holds
the parts and calls their verbs; no part holds the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from aion_actors.calls import Calls
from aion_actors.completions import Completions
from aion_actors.config import Config
from aion_actors.core.converter import PayloadConverter
from aion_actors.lookup import Lookup
from aion_actors.nodes import Node
from aion_actors.nodes.queues import QueueNodes, homes_first
from aion_actors.nodes.service import NodeCalls, node_forwarder
from aion_actors.operations import Operations
from aion_actors.pruning import Pruner, Retentions
from aion_actors.queues.service import Queues
from aion_actors.registration import Registration
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.clock import Clock
from aion_actors.runtime.collector import CollectorHold
from aion_actors.runtime.executors import Executors
from aion_actors.runtime.limit_history import RecentCalls
from aion_actors.runtime.runs import RunManager
from aion_actors.schedules.part import Schedules
from aion_actors.shutdown import Inside
from aion_actors.signal_start import SignalStart
from aion_actors.starting import Starter
from aion_actors.store import EventStore, Recorder
from aion_actors.store.postgres.nodestore import NodeStore
from aion_actors.store.protocol import closing as store_closing
from aion_actors.updating import Updates
from supervisor import Dispatcher

#: run actors share these threads: one runs at a time, the others stand in
#: while a handler blocks (a child's start, a crash's settling, a slow step)
RUN_DISPATCHER_THREADS = 4


@dataclass(frozen=True, slots=True)
class Parts:
    """An engine's parts; built once by `wire`, started and closed by the engine."""

    #: the engine's store (its close comes last, the engine's: see `close`)
    store: EventStore
    catalog: Catalog
    recorder: Recorder
    executors: Executors
    runs: RunManager
    registration: Registration
    completions: Completions
    lookup: Lookup
    starter: Starter
    updates: Updates
    pruner: Pruner
    operations: Operations
    schedules: Schedules
    queues: Queues
    calls: Calls
    #: this engine's hold on the process's collector thresholds (`runtime.collector`)
    collector: CollectorHold
    #: on a store shared by several engines: this one's partitions (see `aion_actors.nodes`)
    node: Node | None = None
    #: a node's: calls between nodes
    node_calls: NodeCalls | None = None

    def start(self) -> None:
        """Register the schedule workflow, recover the open runs (a node: those of the
        partitions it takes; schedules among them), register the config file's queues,
        then start the pruner (which may read closed runs)."""
        self.collector.take()
        self.schedules.install()
        self.runs.recover(self.node.owns if self.node else None)
        self.queues.start()
        if self.node is not None:
            self.node.start()
        if self.node_calls is not None:
            self.node_calls.start()
        self.pruner.start()

    def stats(self) -> dict[str, int]:
        """The counters `Engine.stats` reports, from every part that keeps some."""
        node = self.node.stats() if self.node else {}
        queues, pruner = self.queues.stats(), self.pruner.stats()
        runs, recorder = self.runs.stats(), self.recorder.stats()
        return {**runs, **self.executors.stats(), **pruner, **queues, **node, **recorder}

    def inside(self) -> Inside:
        """What of this engine's own work the calling thread is doing (see `Closing`)."""
        if self.runs.dispatcher.running_here():  # (an activity thread's lent turn too)
            return Inside.TURN
        return Inside.ACTIVITY if self.executors.running_here() else Inside.NOTHING

    def close(self, drain: float = 0.0) -> int:
        """Stop the pruner, the node's lease thread, the runs, the executors and the
        recorder, in that order; then a node gives its partitions up. First, with `drain`,
        wait up to that many seconds for the running activity attempts to land, sending
        no new one (`RunManager.drain`): how many had not by then. From then on a read
        that finds the store's server gone gives up (`protocol.closing`): a thread in one
        (a rehydration, the pruner) ends instead of waiting out the outage, and nothing
        the close waits for reads; the runs it would have read stay in the store."""
        left = self.runs.drain(drain) if drain else 0
        store_closing(self.store)
        self.pruner.close()
        self.queues.close()
        if self.node_calls is not None:
            self.node_calls.close()
        if self.node is not None:
            self.node.close()
        self.runs.close()
        if self.node_calls is not None:
            self.node_calls.join()
        self.executors.close()
        self.recorder.close()
        if self.node is not None:
            self.node.leave()
        self.collector.let_go()
        return left


def wire(
    store: EventStore,
    *,
    workers: int | None,
    threads: int,
    start_method: str,
    max_payload_bytes: int,
    max_resident: int,
    idle_evict_after: float | None,
    config: Config | None,
    converter: PayloadConverter | None,
    converter_path: str | None,
    clock: Clock,
) -> Parts:
    """Build the parts of an engine on `store` (nothing runs until `RunManager.recover`;
    the pruner not until `Pruner.start`)."""
    catalog = Catalog()
    dispatcher = Dispatcher(RUN_DISPATCHER_THREADS, name="aion-run")
    # on a node, a run's appends carry its partition's epoch
    epoch_of = store.epoch_of if isinstance(store, NodeStore) else None
    recorder = Recorder(store, delivering=dispatcher.batch, epoch_of=epoch_of)
    executors = Executors(
        catalog,
        workers=workers,
        threads=threads,
        start_method=start_method,
        max_result_bytes=max_payload_bytes,
        converter=converter,
        converter_path=converter_path,
        worker_policy=config.worker_restart if config is not None else None,
        settling=dispatcher.lend,
        clock=clock,
        recent=RecentCalls(store),
    )
    runs = RunManager(
        store,
        recorder,
        catalog,
        executors,
        max_resident=max_resident,
        idle_evict_after=idle_evict_after,
        max_payload_bytes=max_payload_bytes,
        converter=converter,
        clock=clock,
        dispatcher=dispatcher,
    )
    pruner = Pruner(store, Retentions(catalog, config), clock)
    recorder.when_runs_close(pruner.runs_closed)
    registration = Registration(catalog, config, runs, registered=pruner.wake)
    node = Node(store, runs) if isinstance(store, NodeStore) else None
    forwarder, answers = node_forwarder(node, node.store) if node else (None, None)
    lookup = Lookup(store, catalog, runs, converter, node)
    signal_start = SignalStart(runs, registration, converter)
    starter = Starter(runs, registration, signal_start, converter, forwarder)
    updates = Updates(runs, lookup, converter, max_payload_bytes, forwarder)
    spread = (
        QueueNodes(node, node.store, forwarder, answers) if node and forwarder and answers else None
    )
    files = config.queues if config else None
    queues = Queues(runs, starter, registration, store, clock, files, spread)
    node_calls = None
    if node is not None and forwarder is not None and answers is not None:
        parts = (runs, starter, lookup, registration, queues)
        node_calls = NodeCalls.wire(node, forwarder, answers, *parts)
        homes_first(node, queues.taken)
    return Parts(
        store=store,
        catalog=catalog,
        recorder=recorder,
        executors=executors,
        runs=runs,
        registration=registration,
        completions=Completions(runs, converter, max_payload_bytes),
        lookup=lookup,
        starter=starter,
        updates=updates,
        pruner=pruner,
        operations=Operations(runs, lookup, forwarder),
        schedules=Schedules(store, runs, registration, starter, updates, converter),
        queues=queues,
        calls=Calls(runs, lookup, registration, queues, forwarder),
        collector=CollectorHold(),
        node=node,
        node_calls=node_calls,
    )
