"""A run's entry: the workflow's coroutine on its decoded input."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from aion_actors.core import ConfigError, PayloadError
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
