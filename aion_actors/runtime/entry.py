"""A run's entry and exit: the workflow's coroutine on its decoded input, and the
closing event for what the coroutine returned or raised."""

from __future__ import annotations

import traceback
from collections.abc import Coroutine, Sequence
from typing import Any

from aion_actors.core import ConfigError, PayloadError, check_payload, unpackb
from aion_actors.core import events as ev
from aion_actors.core import payloads as conv
from aion_actors.core.converter import PayloadConverter
from aion_actors.runtime.context import WorkflowContext
from aion_actors.runtime.definitions import WorkflowDefinition


def coroutine(
    definition: WorkflowDefinition,
    ctx: WorkflowContext,
    converter: PayloadConverter | None,
    args: Sequence[Any],
) -> Coroutine[Any, Any, Any]:
    """The workflow's coroutine on `args`; a decoding failure raises at its start."""
    if converter is not None:
        try:
            whose = f"workflow {definition.name!r}"
            args = conv.decode_args(converter, definition.hints, args, whose, "input")
        except (PayloadError, ConfigError) as exc:
            return _raise(exc)
    return definition(ctx, *args)


async def _raise(exc: BaseException) -> Any:
    raise exc


def completed(converter: PayloadConverter | None, result: Any, max_bytes: int) -> ev.Event:
    """`WorkflowCompleted` with `result` as recorded, or `WorkflowFailed` if it cannot be
    (not a payload, or over `max_bytes` encoded)."""
    try:
        result = conv.encode(converter, result, "result")
        encoded = check_payload(result, "result", max_bytes=max_bytes)
    except PayloadError as exc:
        return ev.WorkflowFailed(error=ev.error_info(exc))
    # as the store will hand it back (a tuple is a list there), to the parent and result()
    return ev.WorkflowCompleted(result=unpackb(encoded))


def failed(exc: BaseException) -> ev.Event:
    """`WorkflowFailed` for what the code raised, with its traceback."""
    tb = "".join(traceback.format_exception(exc))
    return ev.WorkflowFailed(error=ev.error_info(exc, traceback=tb))
