"""Signal-with-start, as a caller asks for it: checked and encoded before anything is written.

`Engine.start(..., signal=(name, payload))` starts the run if its workflow_id
has no open run and delivers the signal either way; the run table decides
which (`Requests.signal_with_start`). Here the caller's arguments become the
`NewRun` that carries the signal, bad ones refused before anything is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aion_actors.core import ConfigError, PayloadConverter, RunKey, check_payload
from aion_actors.core import payloads as conv
from aion_actors.registration import Registration
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.runs import NewRun, RunManager, new_runs
from aion_actors.runtime.timeouts import Timeouts

#: a node's way to have the owner make a signal-with-start: (type, run, options, timeout)
SendElsewhere = Callable[[str, NewRun, dict[str, Any], float | None], RunKey]
#: how long the signal of a signal-with-start to an open run may wait to be recorded
SIGNAL_TIMEOUT = 30.0


class SignalStart:
    def __init__(
        self,
        runs: RunManager,
        registration: Registration,
        converter: PayloadConverter | None,
    ) -> None:
        self._runs = runs
        self._registration = registration
        self._converter = converter

    def __call__(
        self,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any],
        workflow_id: str | None,
        signal: object,
        timeouts: Timeouts,
        memo: dict[str, Any] | None = None,
    ) -> RunKey:
        """The run that got the signal: started with it, or the open one."""
        definition = self._registration.workflow(workflow)
        run = signalled_run(
            args,
            workflow_id,
            signal,
            timeouts,
            converter=self._converter,
            max_payload_bytes=self._runs.max_payload_bytes,
            memo=memo,
        )
        return self._runs.signal_with_start(definition, run, SIGNAL_TIMEOUT)

    def elsewhere(
        self,
        send: SendElsewhere,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any],
        workflow_id: str,
        signal: object,
        timeouts: Timeouts,
        options: Mapping[str, Any],
    ) -> RunKey:
        """A node's signal-with-start of another node's partition: checked and encoded
        here, made by the owner (`send`)."""
        definition = self._registration.workflow(workflow)
        run = signalled_run(
            args,
            workflow_id,
            signal,
            timeouts,
            converter=self._converter,
            max_payload_bytes=self._runs.max_payload_bytes,
            memo=options.get("memo"),
        )
        return send(definition.name, run, dict(options), SIGNAL_TIMEOUT)


def signalled_run(
    args: Sequence[Any],
    workflow_id: str | None,
    signal: object,
    timeouts: Timeouts,
    *,
    converter: PayloadConverter | None,
    max_payload_bytes: int,
    memo: dict[str, Any] | None = None,
) -> NewRun:
    """The run to start with `signal` recorded right after its start."""
    if workflow_id is None:
        raise ConfigError(
            "start(..., signal=...) needs a workflow_id: the signal goes to that id's "
            "open run, or starts one with it"
        )
    if not (isinstance(signal, tuple | list) and len(signal) == 2 and isinstance(signal[0], str)):
        raise ConfigError(f"signal= takes a (name, payload) pair, got {signal!r}")
    name, payload = signal
    if not name:
        raise ConfigError("signal= needs a signal name, got ''")
    payload = conv.encode(converter, payload, "signal payload")
    check_payload(payload, "signal payload", max_bytes=max_payload_bytes)
    inputs = conv.encode_inputs(converter, [args])
    [run] = new_runs(inputs, [workflow_id], max_payload_bytes, timeouts, memo)
    return dataclasses.replace(run, signal=(name, payload))
