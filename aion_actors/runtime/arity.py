"""Whether a workflow can be called with a run's input, checked before anything is
recorded: a child or a schedule's firing whose arguments do not fit would fail the same
way at every start (the call itself raises, before the workflow's first line).

Such a child is refused as one whose id has an open run is: its parent records
`ChildFailed` with the error marked `unstarted`, which `ctx.start_child` raises (a child
that started and then failed is a handle whose `result()` raises).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from aion_actors.core import events as ev
from aion_actors.runtime.definitions import WorkflowDefinition

_UNSTARTED = "unstarted"


def misfit(definition: WorkflowDefinition, args: Sequence[Any]) -> TypeError | None:
    """A `TypeError` naming the workflow, its parameters and what does not fit, if
    `definition` cannot be called with `args` (after its `ctx`); None if it can, or if it
    has no signature to check (then the call decides)."""
    signature = signature_of(definition.fn)
    if signature is None:
        return None
    try:
        signature.bind(None, *args)
    except TypeError as exc:
        given = f"{len(args)} argument{'' if len(args) == 1 else 's'}"
        return TypeError(
            f"workflow {definition.name!r} cannot be called with {given}: {exc}; it is "
            f"{definition.fn.__name__}{_bare(signature)}: give the arguments it takes after ctx"
        )
    return None


def _bare(signature: inspect.Signature) -> inspect.Signature:
    """`signature` without annotations: the names and defaults, short enough to read."""
    empty = inspect.Parameter.empty
    parameters = [p.replace(annotation=empty) for p in signature.parameters.values()]
    return signature.replace(parameters=parameters, return_annotation=empty)


def unstarted(error: BaseException) -> ev.ErrorInfo:
    """What a parent records for a child that could not start with `error`."""
    return {**ev.error_info(error), _UNSTARTED: True}


def never_started(error: ev.ErrorInfo) -> bool:
    """Whether a child's recorded failure says it never started (see `unstarted`)."""
    return bool(error.get(_UNSTARTED))


@functools.lru_cache(maxsize=1024)
def signature_of(fn: Callable[..., Any]) -> inspect.Signature | None:
    """`fn`'s signature, looked up once per function; None if it has none."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # a callable without one (a builtin, a C function)
        return None
