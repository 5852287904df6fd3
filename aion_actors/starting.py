"""Starting runs, as callers ask for it: `Engine.start` and `Engine.start_many`.

`StartOptions` are the keyword options every way of starting a run shares;
`Starter` checks and encodes what a caller gives, before anything is written,
and hands the new runs to the run table (signal-with-start to `SignalStart`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypedDict

from aion_actors.core import PayloadConverter, RunKey, payloads
from aion_actors.registration import Registration
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.messages import Ack
from aion_actors.runtime.runs import RunManager, new_runs
from aion_actors.runtime.timeouts import Timeouts
from aion_actors.signal_start import SignalStart


class StartOptions(TypedDict, total=False):
    """What `start`/`start_many` take beside the workflow, its input and its id (see README)."""

    #: seconds that bound this run and its continue-as-new successors together
    execution_timeout: float | None
    #: seconds that bound each run of the chain
    run_timeout: float | None
    #: unindexed values shown by `describe`, carried over by continue-as-new
    memo: dict[str, Any] | None


class Starter:
    def __init__(
        self,
        runs: RunManager,
        registration: Registration,
        signal_start: SignalStart,
        converter: PayloadConverter | None,
    ) -> None:
        self._runs = runs
        self._registration = registration
        self._signal_start = signal_start
        self._converter = converter

    def start(
        self,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any],
        workflow_id: str | None,
        signal: tuple[str, Any] | None,
        options: StartOptions,
    ) -> RunKey:
        """The run started (or, with `signal`, the run that got the signal)."""
        if signal is not None:
            timeouts = _timeouts(options)
            return self._signal_start(
                workflow, args, workflow_id, signal, timeouts, options.get("memo")
            )
        ids = None if workflow_id is None else [workflow_id]
        [key] = self.start_many(workflow, [args], ids, options)
        return key

    def start_many(
        self,
        workflow: WorkflowDefinition | str,
        inputs: Iterable[Sequence[Any]],
        workflow_ids: Iterable[str] | None,
        options: StartOptions,
    ) -> list[RunKey]:
        """Every run started, once all are committed; the first error is raised after."""
        timeouts = _timeouts(options)
        definition = self._registration.workflow(workflow)
        inputs = payloads.encode_inputs(self._converter, inputs)
        memo = options.get("memo")
        new = new_runs(inputs, workflow_ids, self._runs.max_payload_bytes, timeouts, memo)
        for outcome in self._runs.start_many(definition, new):
            if isinstance(outcome, BaseException):
                raise outcome
        return [RunKey(run.workflow_id, run.run_id) for run in new]

    def begin_many(
        self,
        workflow: WorkflowDefinition | str,
        inputs: Iterable[Sequence[Any]],
        workflow_ids: Iterable[str] | None,
        options: StartOptions,
    ) -> list[tuple[RunKey, Ack | None]]:
        """As `start_many`, checked the same way, but waiting for no commit: each run with
        the `Ack` its commit resolves (None: nothing to wait for)."""
        timeouts = _timeouts(options)
        definition = self._registration.workflow(workflow)
        inputs = payloads.encode_inputs(self._converter, inputs)
        memo = options.get("memo")
        new = new_runs(inputs, workflow_ids, self._runs.max_payload_bytes, timeouts, memo)
        acks = self._runs.port.begin_starts(definition, new)
        return [
            (RunKey(run.workflow_id, run.run_id), ack) for run, ack in zip(new, acks, strict=True)
        ]


def _timeouts(options: StartOptions) -> Timeouts:
    unknown = set(options) - set(StartOptions.__annotations__)
    if unknown:
        raise TypeError(f"unexpected start option(s): {', '.join(sorted(unknown))}")
    return Timeouts.given(options.get("execution_timeout"), options.get("run_timeout"))
