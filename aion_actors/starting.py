"""Starting runs, as callers ask for it: `Engine.start` and `Engine.start_many`.

`StartOptions` are the keyword options every way of starting a run shares;
`Starter` checks and encodes what a caller gives, before anything is written,
and hands the new runs to the run table (signal-with-start to `SignalStart`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypedDict, cast

from aion_actors.core import (
    ConfigError,
    OwnershipLost,
    PayloadConverter,
    RunKey,
    WorkflowAlreadyRan,
    WorkflowAlreadyStarted,
    WorkflowClosed,
    payloads,
)
from aion_actors.registration import Registration
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.messages import Ack
from aion_actors.runtime.runs import NewRun, RunManager, new_runs
from aion_actors.runtime.runs.policies import DEFAULT_POLICY, StartPolicy
from aion_actors.runtime.timeouts import NO_TIMEOUTS, Timeouts
from aion_actors.signal_start import SignalStart


class Gate(Protocol):
    """A node's check of the workflow_ids it may start (see `aion_actors.nodes`)."""

    def check(self, workflow_id: str, what: str) -> None: ...

    def fresh_id(self) -> str: ...


class Forwarding(Gate, Protocol):
    """A node's way to start runs of partitions other nodes own (see `aion_actors.nodes`)."""

    def owns(self, workflow_id: str) -> bool: ...

    def start(
        self, workflow_type: str, new: Sequence[NewRun], options: dict[str, Any]
    ) -> list[RunKey]: ...

    def begin(self, workflow_type: str, run: NewRun, options: dict[str, Any]) -> Ack: ...

    def signal_start(
        self, workflow_type: str, run: NewRun, options: dict[str, Any], timeout: float | None
    ) -> RunKey: ...


class StartOptions(TypedDict, total=False):
    """What `start`/`start_many` take beside the workflow, its input and its id (see README)."""

    #: seconds that bound this run and its continue-as-new successors together
    execution_timeout: float | None
    #: seconds that bound each run of the chain
    run_timeout: float | None
    #: unindexed values shown by `describe`, carried over by continue-as-new
    memo: dict[str, Any] | None
    #: when the workflow_id has an open run: "fail" | "use_existing" | "terminate_existing"
    if_open: str
    #: when its latest run has closed: "allow" | "reject" | "allow_if_failed" | "use_existing"
    if_closed: str


#: how often a start with if_open="terminate_existing" terminates a run that opened under it
_TERMINATE_RACES = 20
_TERMINATE_TIMEOUT = 30.0


class Starter:
    def __init__(
        self,
        runs: RunManager,
        registration: Registration,
        signal_start: SignalStart,
        converter: PayloadConverter | None,
        gate: Forwarding | None = None,
    ) -> None:
        self._runs = runs
        self._registration = registration
        self._signal_start = signal_start
        self._converter = converter
        #: a node's: starts of runs in partitions it does not own go to their owners
        self._gate = gate

    @property
    def converter(self) -> PayloadConverter | None:
        return self._converter

    def start(
        self,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any],
        workflow_id: str | None,
        signal: tuple[str, Any] | None,
        options: StartOptions,
    ) -> RunKey:
        """The run started (or, with `signal`, the run that got the signal)."""
        gate = self._gate
        if gate is not None:
            workflow_id = workflow_id or gate.fresh_id()
        if signal is not None:
            timeouts = _timeouts(options)
            if policy_of(options) is not None:
                raise ConfigError("start with signal= takes no if_open / if_closed policy")
            if gate is not None and workflow_id and not gate.owns(workflow_id):  # on its owner
                return self._signal_start.elsewhere(
                    gate.signal_start, workflow, args, workflow_id, signal, timeouts, options
                )
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
        """Every run started, once all are committed; the first error is raised after.
        A node starts those of its partitions and asks the owners of the others."""
        definition, new = self._checked(workflow, inputs, workflow_ids, options)
        gate, policy = self._gate, policy_of(options)
        if gate is None:
            return self.start_new(definition, new, policy)
        here = [run for run in new if gate.owns(run.workflow_id)]
        outcomes = self._outcomes(definition, here, policy)
        keys: dict[RunKey, RunKey | BaseException] = dict(
            zip([r.key for r in here], outcomes, strict=True)
        )
        # the others' owners start them: also those whose partition moved before their
        # start was written here (the fence refused it whole: nothing was recorded)
        there = [r for r in new if isinstance(keys.get(r.key), OwnershipLost | None)]
        if there:
            sent = gate.start(definition.name, there, dict(options))
            keys.update(zip([r.key for r in there], sent, strict=True))
        for outcome in keys.values():
            if isinstance(outcome, BaseException):
                raise outcome
        return [cast(RunKey, keys[run.key]) for run in new]

    def begin_many(
        self,
        workflow: WorkflowDefinition | str,
        inputs: Iterable[Sequence[Any]],
        workflow_ids: Iterable[str] | None,
        options: StartOptions,
    ) -> list[tuple[RunKey, Ack | None]]:
        """As `start_many`, checked the same way, but waiting for no commit: each run with
        the `Ack` its commit resolves (None: nothing to wait for). No start policy: one
        may wait for a terminate (`aion_actors.aio` sends those to `start_many`)."""
        if policy_of(options) is not None:
            raise ValueError("a start policy (if_open, if_closed) may wait: use start_many")
        definition, new = self._checked(workflow, inputs, workflow_ids, options)
        gate = self._gate
        there = {} if gate is None else {r.key for r in new if not gate.owns(r.workflow_id)}
        here = [run for run in new if run.key not in there]
        begun = self._runs.port.begin_starts(definition, here) if here else []
        acks = dict(zip([r.key for r in here], begun, strict=True))
        for run in new if there else ():  # to their owners
            if gate is not None and run.key in there:
                acks[run.key] = gate.begin(definition.name, run, dict(options))
        return [(run.key, acks[run.key]) for run in new]

    def _checked(
        self,
        workflow: WorkflowDefinition | str,
        inputs: Iterable[Sequence[Any]],
        workflow_ids: Iterable[str] | None,
        options: StartOptions,
    ) -> tuple[WorkflowDefinition, list[NewRun]]:
        """The definition and the new runs a start asks for, every id checked (a node's
        fresh ids in its own partitions), every input encoded; nothing written."""
        timeouts = _timeouts(options)
        if self._gate is not None and workflow_ids is None:
            inputs = list(inputs)
            workflow_ids = [self._gate.fresh_id() for _ in inputs]
        definition = self._registration.workflow(workflow)
        inputs = payloads.encode_inputs(self._converter, inputs)
        memo = options.get("memo")
        new = new_runs(inputs, workflow_ids, self._runs.max_payload_bytes, timeouts, memo)
        return definition, new

    def start_new(
        self, definition: WorkflowDefinition, new: Sequence[NewRun], policy: StartPolicy | None
    ) -> list[RunKey]:
        """Start the checked `new` runs under `policy`: each one's key, or the key of the
        run the policy handed back instead. With if_open="terminate_existing" an open
        run of a workflow_id is terminated (and the batch tried again) until none is."""
        keys = []
        for outcome in self._outcomes(definition, new, policy):
            if isinstance(outcome, BaseException):
                raise outcome
            keys.append(outcome)
        return keys

    def _outcomes(
        self, definition: WorkflowDefinition, new: Sequence[NewRun], policy: StartPolicy | None
    ) -> list[RunKey | BaseException]:
        """As `start_new`, each run's key or the error its start got."""
        if not new:
            return []
        for _ in range(_TERMINATE_RACES):
            try:
                outcomes = self._runs.start_many(definition, new, policy)
            except WorkflowAlreadyRan:
                raise
            except WorkflowAlreadyStarted as exc:
                if policy is None or policy.if_open != "terminate_existing":
                    raise
                self._terminate(RunKey(exc.workflow_id, exc.run_id))
                continue
            return [
                outcome if isinstance(outcome, BaseException | RunKey) else run.key
                for run, outcome in zip(new, outcomes, strict=True)
            ]
        raise WorkflowAlreadyStarted(new[0].workflow_id, "?")

    def _terminate(self, key: RunKey) -> None:
        reason = "a start with if_open='terminate_existing' replaced it"
        with contextlib.suppress(WorkflowClosed):  # closed meanwhile: the id is free
            self._runs.terminate(key, reason, _TERMINATE_TIMEOUT)


def options_checked(options: StartOptions) -> tuple[Timeouts, dict[str, Any] | None]:
    """The timeouts and memo of `options`; unknown options raise `TypeError`."""
    return _timeouts(options), options.get("memo")


def policy_of(options: StartOptions) -> StartPolicy | None:
    """The start policy `options` ask for; None for the default (fail if open, else allow)."""
    if not options:  # the common start: no options at all, nothing to build
        return None
    if_open, if_closed = options.get("if_open", "fail"), options.get("if_closed", "allow")
    policy = StartPolicy(if_open, if_closed)
    return None if policy == DEFAULT_POLICY else policy


def _timeouts(options: StartOptions) -> Timeouts:
    if not options:  # the common start: no options at all, nothing to check
        return NO_TIMEOUTS
    unknown = set(options) - set(StartOptions.__annotations__)
    if unknown:
        raise TypeError(f"unexpected start option(s): {', '.join(sorted(unknown))}")
    return Timeouts.given(options.get("execution_timeout"), options.get("run_timeout"))
