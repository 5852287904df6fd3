"""The engine's client API called from workflow code: refused, naming the ctx command to use.

Workflow code runs again on every replay (a restart, an eviction, a new
engine), so an `engine.start(...)` in it would start another run each time,
and an `engine.result(...)` would hold the run's turn while it waits. Every
client verb of `Engine` and `AsyncEngine` (`check`, at its entry) therefore
raises `EngineCallInWorkflow` when the calling thread runs a turn of one of
the engine's runs — workflow code, a signal, update or query handler, a
validator — which fails the run (or the update, or the query) and names the
ctx command that does the same durably. The check is one look at the thread's
ident while no turn runs here.

What stays allowed: activities (they may call the engine: they run at least
once, by contract) and done-callbacks (`when_closed`, `add_done_callback`),
which run once, in whichever thread sees the run close (`calling_back`).
`Engine.close` from a turn has rules of its own (`shutdown.Closing`), and the
read-only inspections (`describe`, `history`, `list_runs`, `stats`, the
schedules' listing) are not refused: they change nothing, though what they
read may differ on a replay — a workflow that decides on it reads it in an
activity, whose result is recorded.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Final

from aion_actors.runtime.commands import EngineCallInWorkflow
from aion_actors.runtime.context import WorkflowContext

_CHILD: Final = "start a child with ctx.child(workflow, ...), or ctx.start_child(...) not to wait"
_WAIT: Final = (
    "await the child's ctx.child(...), or the result() of the handle ctx.start_child(...) returns"
)
_ACTIVITY: Final = (
    "call the engine from an activity (await ctx.activity(...)): activities may use it, "
    "running at least once"
)

#: a verb -> what workflow code does instead
_INSTEAD: Final[dict[str, str]] = {
    "start": _CHILD,
    "start_many": _CHILD,
    "enqueue": _CHILD,
    "signal": "use ctx.external(workflow_id).signal(name, payload)",
    "cancel": "use ctx.external(workflow_id).cancel(reason)",
    "terminate": "cancel it with ctx.external(workflow_id).cancel(reason), or " + _ACTIVITY,
    "result": _WAIT,
    "when_closed": _WAIT,
}

_local = threading.local()


def check(running_here: Callable[[], bool], depth: int = 2) -> None:
    """Raise `EngineCallInWorkflow` if the calling thread runs a turn (`running_here`) and
    no done-callback: the verb is the function `depth` frames up from here."""
    if running_here() and not getattr(_local, "calling_back", 0):
        raise refusal(sys._getframe(depth).f_code.co_name)  # noqa: SLF001 - only when refused


def refusal(verb: str) -> EngineCallInWorkflow:
    """The error for workflow code that called `engine.<verb>()`."""
    whose = _running_workflow()
    return EngineCallInWorkflow(
        f"{whose} called engine.{verb}(), the engine's client API, which workflow code may "
        "not call: it would run again on every replay of the run (nothing was done) — "
        f"{_INSTEAD.get(verb, _ACTIVITY)}"
    )


def calling_back(callback: Callable[[], None]) -> None:
    """Call a done-callback, which may call the engine even in a run's turn."""
    _local.calling_back = getattr(_local, "calling_back", 0) + 1
    try:
        callback()
    finally:
        _local.calling_back -= 1


def _running_workflow() -> str:
    """'workflow <type> (<workflow_id>)' for the machine driving code on this thread's stack."""
    frame = sys._getframe(2)  # noqa: SLF001 - on the error path only
    while frame is not None:
        owner = frame.f_locals.get("self")
        if isinstance(getattr(owner, "ctx", None), WorkflowContext):
            definition = getattr(owner, "definition", None)
            name = getattr(definition, "name", "?")
            return f"workflow {name!r} ({owner.ctx.workflow_id!r})"  # type: ignore[union-attr]
        frame = frame.f_back  # type: ignore[assignment]
    return "workflow code"
