"""Starting runs: reserve each workflow_id, commit the `WorkflowStarted`s, start the actors.

A commit waits for an fsync, so no lock is held meanwhile: each run is first
reserved in the open-run table, which refuses a second start of its
workflow_id, and the reservation is withdrawn if its commit fails. Runs
started together share their commits, which is what makes
`Engine.start_many` cheaper than a loop of `start`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aion_actors.core import (
    ConfigError,
    PayloadError,
    SequenceConflict,
    WorkflowAlreadyStarted,
    WorkflowStatus,
    check_id,
    check_payload,
    new_run_id,
    new_workflow_id,
)
from aion_actors.core import events as ev
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.store import AppendRequest
from supervisor import Handle, Residency

if TYPE_CHECKING:
    from aion_actors.runtime.runs import RunManager

#: True: started; False: the run already existed; an exception: why it did not start
Started = bool | BaseException


@dataclass(frozen=True, slots=True)
class NewRun:
    """One run to start: its ids, its input, and the run that started it, if any."""

    workflow_id: str
    run_id: str
    args: Sequence[Any]
    parent: dict[str, Any] | None = None


def new_runs(
    inputs: Iterable[Sequence[Any]], workflow_ids: Iterable[str] | None, max_payload_bytes: int
) -> list[NewRun]:
    """Check what a caller asks to start, before anything is written; fresh run ids."""
    inputs = list(inputs)
    ids = [new_workflow_id() for _ in inputs] if workflow_ids is None else list(workflow_ids)
    if len(ids) != len(inputs):
        raise ConfigError(
            f"start_many got {len(ids)} workflow_ids for {len(inputs)} inputs; "
            "give one per input, or none"
        )
    first: dict[str, int] = {}
    new = []
    for index, (args, workflow_id) in enumerate(zip(inputs, ids, strict=True)):
        where = "input" if len(inputs) == 1 else f"inputs[{index}]"
        if not isinstance(args, list | tuple):
            raise PayloadError(
                where, f"must be a tuple of the run's arguments, got {type(args).__name__}"
            )
        check_payload(list(args), where, max_bytes=max_payload_bytes)
        check_id(workflow_id, "workflow_id")
        if first.setdefault(workflow_id, index) != index:
            raise ConfigError(
                f"workflow_id {workflow_id!r} is given twice (inputs {first[workflow_id]} "
                f"and {index}); a workflow_id has one open run at a time"
            )
        new.append(NewRun(workflow_id, new_run_id(), tuple(args)))
    return new


def create(
    runs: RunManager, definition: WorkflowDefinition, new: Sequence[NewRun], refuse_open: bool
) -> list[Started]:
    """Start `new` runs of `definition`; one outcome per run, in order.

    With `refuse_open`, a workflow_id that has an open run raises
    `WorkflowAlreadyStarted` before anything is written, and none starts.
    """
    reserved: list[tuple[NewRun, str | None]] = []
    try:
        for run in new:
            reserved.append((run, _reserve(runs, run, refuse_open)))
    except BaseException:
        for run, previous in reserved:
            _withdraw(runs, run, previous)
        raise
    results = runs._recorder.append_all(
        [AppendRequest(run.workflow_id, run.run_id, (_started(definition, run),), 0) for run in new]
    )
    outcomes: list[Started] = []
    for (run, previous), result in zip(reserved, results, strict=True):
        if isinstance(result, BaseException):
            _withdraw(runs, run, previous)
            outcomes.append(False if isinstance(result, SequenceConflict) else result)
            continue
        try:
            _admit(runs, definition, run, result)
        except Exception as exc:  # committed and listed: its next message rehydrates it
            outcomes.append(exc)
        else:
            outcomes.append(True)
    return outcomes


def _started(definition: WorkflowDefinition, run: NewRun) -> ev.WorkflowStarted:
    return ev.WorkflowStarted(
        workflow_type=definition.name,
        input=list(run.args),
        run_id=run.run_id,
        version=definition.version,
        parent=run.parent,
    )


def _reserve(runs: RunManager, run: NewRun, refuse_open: bool) -> str | None:
    """Mark `run` as its workflow's open run; returns the run it displaced, if any."""
    with runs._lock(run.workflow_id):
        previous = runs._open.get(run.workflow_id)
        if refuse_open and previous is not None:
            raise WorkflowAlreadyStarted(run.workflow_id, previous)
        runs._open[run.workflow_id] = run.run_id
        return previous


def _withdraw(runs: RunManager, run: NewRun, previous: str | None) -> None:
    with runs._lock(run.workflow_id):
        if runs._open.get(run.workflow_id) == run.run_id:
            if previous is None:
                del runs._open[run.workflow_id]
            else:
                runs._open[run.workflow_id] = previous


def _admit(
    runs: RunManager, definition: WorkflowDefinition, run: NewRun, history: list[ev.Event]
) -> None:
    """List the committed run as resident and start its actor on the history just written."""
    key = (run.workflow_id, run.run_id)
    runs.registry.insert(
        key,
        Handle(
            key,
            None,
            definition.name,
            definition.version,
            WorkflowStatus.RUNNING,
            Residency.RESIDENT,
        ),
    )
    runs._handoff[key] = history
    runs._spawn(run.workflow_id, run.run_id, definition)
