"""How the engine finds the run a caller names, and reads what it reports of it.

The store is the truth for closed runs and the run manager for open ones;
this module asks each what it knows, so `Engine` only forwards the calls.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aion_actors.core import (
    CorruptEvent,
    PayloadConverter,
    RunKey,
    WorkflowClosed,
    WorkflowNotFound,
    WorkflowStatus,
    check_id,
    payloads,
)
from aion_actors.core import events as ev
from aion_actors.handles import RunDescription
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.runs import RunManager, Whereabouts
from aion_actors.runtime.runs.entry import Residence
from aion_actors.runtime.timeouts import deadline
from aion_actors.starting import Gate
from aion_actors.store import EventStore, RunSummary
from aion_actors.store.postgres.nodeview import ownership_of


class Lookup:
    def __init__(
        self,
        store: EventStore,
        catalog: Catalog,
        runs: RunManager,
        converter: PayloadConverter | None,
        gate: Gate | None = None,
    ) -> None:
        #: a node's: calls for open runs of partitions it does not own are refused
        self._gate = gate
        self._store = store
        self._catalog = catalog
        self._runs = runs
        self._converter = converter

    def latest(self, workflow_id: str) -> RunSummary:
        """The workflow_id's most recent run; `WorkflowNotFound` if it never ran."""
        run = self._store.latest_run(workflow_id)
        if run is None:
            raise WorkflowNotFound(workflow_id)
        return run

    def latest_key(self, workflow_id: str, run_id: str | None = None) -> RunKey:
        """The run `run_id` names, else the workflow_id's most recent one: its open run
        from memory when this engine holds one (no store scan), else from the store."""
        if run_id is None:
            run_id = self._runs.open_run(workflow_id) or self.latest(workflow_id).run_id
        return RunKey(workflow_id, run_id)

    def open_run(self, workflow_id: str, what: str) -> RunKey:
        """The workflow_id's open run; `WorkflowClosed` naming `what` was asked if none."""
        run_id = self._runs.open_run(workflow_id)
        if run_id is None:
            if self._gate is not None:
                self._gate.check(workflow_id, what)
            run = self.latest(workflow_id)
            raise WorkflowClosed(workflow_id, run.run_id, run.status.value, what, run.ended_at)
        return RunKey(workflow_id, run_id)

    def describe(self, workflow_id: str) -> RunDescription:
        run = self.latest(workflow_id)
        memo_of = run.run_id  # (a successor whose start is not recorded yet inherits it)
        run = self._chain_head(run)
        definition = self._catalog.workflow(run.workflow_type)
        where = self._runs.whereabouts(RunKey(workflow_id, run.run_id))
        run = self._resumed(run, where)
        last = self._store.read(workflow_id, run.run_id, run.head) if run.status.is_terminal else []
        started = self._store.read(workflow_id, run.run_id, until=1)
        version = definition.version if definition else None
        timeout_at = deadline(started[0]) if started else None
        closing = last[-1] if last else None
        patches = self._patches(workflow_id, run.run_id)
        opening = started or self._store.read(workflow_id, memo_of, until=1)
        memo = opening[0].memo if opening and isinstance(opening[0], ev.WorkflowStarted) else None
        owned = ownership_of(self._store, workflow_id)
        return RunDescription.of(run, where, version, closing, timeout_at, patches, memo, owned)

    def _chain_head(self, run: RunSummary) -> RunSummary:
        """The run to describe: `run`, the store's latest — unless it closed continuing
        into (or reset to) the workflow_id's open run, whose start is being recorded:
        the chain is open, that run is its head, running as its predecessor ended."""
        open_id = self._runs.open_run(run.workflow_id)
        if not run.status.names_next_run or open_id is None or open_id == run.run_id:
            return run
        head = self._store.get_run(run.workflow_id, open_id)
        if head is not None:
            return head
        started_at = run.ended_at or run.started_at
        return replace(
            run,
            run_id=open_id,
            status=WorkflowStatus.RUNNING,
            started_at=started_at,
            ended_at=None,
            head=0,
            restarts=0,
        )

    def _resumed(self, run: RunSummary, where: Whereabouts) -> RunSummary:
        """`run` as this engine holds it: parked in the store, but being resumed here (its
        replay, which records `RunResumed`, is under way), it is running."""
        if run.status is not WorkflowStatus.PARKED or where.residency is Residence.PARKED:
            return run
        held = self._runs.open_run(run.workflow_id) == run.run_id
        return replace(run, status=WorkflowStatus.RUNNING) if held else run

    def _patches(self, workflow_id: str, run_id: str) -> tuple[str, ...]:
        """The patches the run took, in order; none known when its history is damaged
        (the run is parked naming the event, and `history` raises naming it)."""
        try:
            events = self._store.read(workflow_id, run_id)
        except CorruptEvent:
            return ()
        return tuple(e.patch_id for e in events if isinstance(e, ev.PatchApplied))

    def history(self, workflow_id: str, run_id: str | None) -> list[ev.Event]:
        run_id = self.latest(workflow_id).run_id if run_id is None else check_id(run_id, "run_id")
        events = self._store.read(workflow_id, run_id)
        if not events:
            raise WorkflowNotFound(workflow_id, run_id)
        return events

    def typed_result(self, key: RunKey, value: Any) -> Any:
        """A run's recorded result as its workflow's return annotation asks."""
        if self._converter is None:  # the default converter changes nothing
            return value
        run = self._store.get_run(*key)
        workflow = self._catalog.workflow(run.workflow_type) if run is not None else None
        return payloads.typed_result(self._converter, workflow, value)
