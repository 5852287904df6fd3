"""`Schedules`: the engine's part behind `engine.schedule`, `get_schedule`, `list_schedules`.

It registers the built-in schedule workflow (before recovery, so a schedule
recovers like any run), and turns the verbs into starts, updates and reads of
the schedule's run `schedule:<name>` (see `schedules/loop.py`). What it lists
comes from the run index (the search attributes the schedule publishes), as
`aion-actors schedules` reads them offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aion_actors.core import (
    ConfigError,
    PayloadConverter,
    RunKey,
    WorkflowAlreadyStarted,
    WorkflowStatus,
    payloads,
)
from aion_actors.registration import Registration
from aion_actors.runtime.arity import misfit
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.runs import RunManager
from aion_actors.schedules import loop
from aion_actors.schedules.handle import ScheduleHandle
from aion_actors.schedules.info import ScheduleInfo, ScheduleNotFound, info_of
from aion_actors.schedules.spec import (
    ID_PREFIX,
    SCHEDULE_WORKFLOW,
    ScheduleOptions,
    ScheduleSpec,
)
from aion_actors.starting import Starter
from aion_actors.store import EventStore, RunSummary
from aion_actors.updating import Updates

if TYPE_CHECKING:
    from aion_actors.engine import Engine


class Schedules:
    def __init__(
        self,
        store: EventStore,
        runs: RunManager,
        registration: Registration,
        starter: Starter,
        updates: Updates,
        converter: PayloadConverter | None,
    ) -> None:
        self._store = store
        self._runs = runs
        self._registration = registration
        self._starter = starter
        self._updates = updates
        self._converter = converter

    def install(self) -> None:
        """Register the schedule workflow, so the schedules in the store recover."""
        self._registration.register(loop.DEFINITIONS, replace=True)

    def schedule(
        self,
        name: str,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any],
        options: ScheduleOptions,
        engine: Engine,
    ) -> ScheduleHandle:
        """Create schedule `name`, or update it if its spec differs (`engine` for the
        handles of the runs it starts)."""
        self.create_or_update(name, workflow, args, options)
        return ScheduleHandle(self, name, engine)

    def get(self, name: str, engine: Engine) -> ScheduleHandle:
        self.describe(name)
        return ScheduleHandle(self, name, engine)

    def create_or_update(
        self,
        name: str,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any],
        options: ScheduleOptions,
    ) -> str:
        """Create schedule `name`, or update it if its spec differs; what happened."""
        if isinstance(args, str | bytes) or not isinstance(args, Sequence):
            raise TypeError(f"schedule {name!r}: args must be a list or tuple, got {args!r}")
        try:  # as `engine.start`: a definition is registered, a name must be (not a typo)
            target = self._registration.workflow(workflow)
        except ConfigError as exc:
            raise ConfigError(f"schedule {name!r}: {exc}") from None
        if (misfit_error := misfit(target, args)) is not None:  # as `engine.start` raises
            raise TypeError(f"schedule {name!r}: {misfit_error}")
        [encoded] = payloads.encode_inputs(self._converter, [args])
        spec = ScheduleSpec.build(name, target.name, encoded, options)
        payload = spec.payload()
        run = self._open(name)
        if run is None:
            try:
                self._starter.start(SCHEDULE_WORKFLOW, [payload], spec.workflow_id, None, {})
                return "created"
            except WorkflowAlreadyStarted:
                run = self._open(name)  # made meanwhile by another caller: as below
        if run is not None:  # the same spec again changes nothing, and records nothing
            now = self._runs.query(RunKey(run.workflow_id, run.run_id), loop.DESCRIBE, (), 30.0)
            if now["spec"] == payload:
                return "unchanged"
        answer: str = self._update(name, loop.SET, payload)
        return answer

    def describe(self, name: str) -> ScheduleInfo:
        run = self._open(name)
        if run is None:
            raise ScheduleNotFound(name)
        return info_of(run)

    def list(self) -> list[ScheduleInfo]:
        """Every schedule not deleted, by name (each by its latest run)."""
        latest: dict[str, RunSummary] = {}
        for run in self._store.runs(workflow_type=SCHEDULE_WORKFLOW):
            seen = latest.get(run.workflow_id)
            if seen is None or (run.started_at, run.run_id) > (seen.started_at, seen.run_id):
                latest[run.workflow_id] = run
        live = (info_of(run) for run in latest.values() if _live(run))
        return sorted(live, key=lambda i: i.name)

    def pause(self, name: str) -> None:
        self._update(name, loop.PAUSE)

    def unpause(self, name: str) -> None:
        self._update(name, loop.UNPAUSE)

    def delete(self, name: str) -> None:
        self._update(name, loop.DELETE)

    def trigger(self, name: str) -> str:
        """Start a run now; its workflow_id."""
        workflow_id: str = self._update(name, loop.TRIGGER)
        return workflow_id

    def _update(self, name: str, verb: str, payload: Any = None) -> Any:
        if self._open(name) is None:
            raise ScheduleNotFound(name)
        return self._updates.update(ID_PREFIX + name, verb, payload, None, 30.0)

    def _open(self, name: str) -> RunSummary | None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a schedule name must be a non-empty string, got {name!r}")
        run = self._store.latest_run(ID_PREFIX + name)
        return run if run is not None and _live(run) else None


def _live(run: RunSummary) -> bool:
    """Whether a schedule's latest run says it exists: open, or rolling over (continued as
    new, its next run being started this very moment)."""
    return not run.status.is_terminal or run.status is WorkflowStatus.CONTINUED_AS_NEW
