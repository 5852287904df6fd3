"""A run's entry and exit: the workflow's coroutine on its decoded input, and the
closing event for what the coroutine returned or raised."""

from __future__ import annotations

import traceback
from collections.abc import Coroutine, Sequence
from typing import Any

from aion_actors.core import (
    ConfigError,
    PayloadError,
    WorkflowError,
    check_payload,
    new_run_id,
    unpackb,
)
from aion_actors.core import events as ev
from aion_actors.core import payloads as conv
from aion_actors.core.converter import PayloadConverter
from aion_actors.runtime import arity, foreign
from aion_actors.runtime.arity import misfit
from aion_actors.runtime.commands import Cancelled, ContinueAsNew
from aion_actors.runtime.context import WorkflowContext
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.mismatch import ReplayEdge
from aion_actors.runtime.payload_limit import PayloadLimit


def coroutine(
    definition: WorkflowDefinition,
    ctx: WorkflowContext,
    converter: PayloadConverter | None,
    started: ev.WorkflowStarted,
    edge: ReplayEdge,
) -> Coroutine[Any, Any, Any]:
    """The workflow's coroutine on the run's start arguments. What keeps it from starting
    raises at its start: an input that does not decode (`PayloadError`, noted in `edge`),
    recorded arguments its signature does not take (`ReplayMismatch`). A new run's
    arguments it does not take are a `TypeError`, raised here: its start is refused."""
    args: Sequence[Any] = started.input
    if converter is not None:
        try:
            whose = f"workflow {definition.name!r}"
            args = conv.decode_args(converter, definition.hints, args, whose, "input")
        except PayloadError as exc:
            edge.thrown(exc, started.seq)
            return _raise(exc)
        except ConfigError as exc:
            return _raise(exc)
    try:
        return definition(ctx, *args)
    except TypeError as exc:
        if arity.misfit(definition, args) is None:
            raise  # (raised inside the workflow's own first call, not by its signature)
        misfit = edge.misfit(definition, args, started.seq)
        if isinstance(misfit, TypeError):
            raise misfit from exc
        return _raise(misfit)


async def _raise(exc: BaseException) -> Any:
    raise exc


def completed(converter: PayloadConverter | None, result: Any, limit: PayloadLimit) -> ev.Event:
    """`WorkflowCompleted` with `result` as recorded, or `WorkflowFailed` if it cannot be
    (not a payload, or over the limit encoded, unless history completed the run so)."""
    try:
        result = conv.encode(converter, result, "result")
        encoded = check_payload(result, "result", max_bytes=limit.at_end(ev.WorkflowCompleted))
    except PayloadError as exc:
        return ev.WorkflowFailed(error=ev.error_info(exc))
    # as the store will hand it back (a tuple is a list there), to the parent and result()
    return ev.WorkflowCompleted(result=unpackb(encoded))


def failed(exc: BaseException) -> ev.Event:
    """`WorkflowFailed` for what the code raised, with its traceback."""
    tb = "".join(traceback.format_exception(exc))
    return ev.WorkflowFailed(error=ev.error_info(exc, traceback=tb))


def ending(exc: BaseException, definition: WorkflowDefinition, cancelled: str) -> ev.Event | None:
    """The closing event for what the run's coroutine raised (`cancelled`: the reason of
    the cancel it was told of); None for a crash, which the caller re-raises (a
    continue-as-new whose arguments the workflow cannot take raises its `TypeError`)."""
    if isinstance(exc, ContinueAsNew):
        if (misfit_error := misfit(definition, exc.next_args)) is not None:  # a bug: a crash
            raise TypeError(f"continue_as_new(): {misfit_error}") from None
        return ev.WorkflowContinuedAsNew(next_run_id=new_run_id(), input=list(exc.next_args))
    if isinstance(exc, Cancelled):
        return ev.WorkflowCancelled(reason=cancelled)
    if isinstance(exc, (WorkflowError, PayloadError, *definition.fail_on)):
        return failed(exc)  # a PayloadError repeats on every replay
    if isinstance(exc, Exception) and (error := foreign.from_exception(definition.name, exc)):
        return failed(error)
    return None
