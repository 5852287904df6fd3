"""Commands workflow code made and never awaited: a warning names each, as Python's
"coroutine ... was never awaited" does.

A ctx command does nothing until it is awaited: `ctx.activity(charge, 5)`
without `await` runs no activity and records nothing. The context notes each
command it makes, with the line of workflow code that made it (`made`); the
machine forgets it once it is awaited, alone or in a `ctx.gather`/`ctx.wait_first`
(`awaited`; a gather takes its parts when it is made, `taken`). When the run
completes (or continues as new), what is left is a `RuntimeWarning` per line of
code, pointing at that line (`warn`). Commands a failed or cancelled run left
are not warned about: the failure cut the code short, as it may mean to. Only
the run's live incarnation warns, once, at its close: a replay makes the same
commands again, and is not told about them again.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, TypeVar

from aion_actors.core import events as ev
from aion_actors.runtime.commands import PartCommand

C = TypeVar("C")
#: the closes at which commands never awaited are warned about: the code ran to its end
WARNED_AT = (ev.WorkflowCompleted, ev.WorkflowContinuedAsNew)


class Unawaited:
    """The commands of one run made and not awaited yet, with where they were made."""

    __slots__ = ("_made", "noting")

    def __init__(self, *, noting: bool = True) -> None:
        self._made: dict[Any, tuple[str, int]] = {}
        #: False for a machine that never warns (a replay): its context notes nothing
        self.noting = noting

    def made(self, command: C) -> C:
        """Note `command`, made by the code that called its maker; returns it."""
        frame = sys._getframe(2)  # noqa: SLF001 - the line a warning points at
        self._made[command] = (frame.f_code.co_filename, frame.f_lineno)
        return command

    def taken(self, what: str, commands: tuple[object, ...]) -> tuple[PartCommand, ...]:
        """`commands`, checked, are the parts of `ctx.<what>`: awaited with it, or warned
        about as it."""
        for command in commands:
            if not isinstance(command, PartCommand):
                raise TypeError(
                    f"ctx.{what} takes ctx.activity/ctx.sleep/ctx.wait_signal/ctx.child/"
                    f"ctx.wait_condition commands, got {type(command).__name__}"
                )
            self._made.pop(command, None)
        return commands  # type: ignore[return-value]

    def awaited(self, command: Any) -> None:
        self._made.pop(command, None)

    def warn(self, workflow: str, run_id: str) -> None:
        """A `RuntimeWarning` for each line of code that made commands never awaited."""
        sites: dict[tuple[str, int], list[Any]] = {}
        for command, site in self._made.items():
            sites.setdefault(site, []).append(command)
        self._made.clear()
        for (filename, lineno), commands in sites.items():
            times = f" ({len(commands)} times)" if len(commands) > 1 else ""
            message = (
                f"workflow {workflow!r} (run {run_id}) made {describe(commands[0])}{times} "
                "but never awaited it: it did not run, and nothing was recorded — await it, "
                "or pass it to ctx.gather(...) / ctx.wait_first(...) to await several together"
            )
            warnings.warn_explicit(message, RuntimeWarning, filename, lineno)


def describe(command: Any) -> str:
    """The command as workflow code wrote it: `ctx.activity('charge')`, `ctx.sleep(1)`..."""
    kind = command.kind
    if kind == "activity":
        return f"ctx.activity({command.name!r})"
    if kind == "timer":
        return f"ctx.sleep({command.seconds:g})"
    if kind == "signal":
        return f"ctx.wait_signal({command.name!r})"
    if kind == "child":
        return f"ctx.{'start_child' if command.handle else 'child'}({command.name!r})"
    if kind == "external":
        what = f"signal({command.name!r})" if command.action == "signal" else "cancel()"
        return f"ctx.external({command.workflow_id!r}).{what}"
    if kind == "child result":
        return f"the result() of child {command.child_workflow_id!r}"
    if kind in ("gather", "wait_first"):
        parts = ", ".join(describe(part) for part in command.parts)
        return f"ctx.{kind}({parts})"
    return "ctx.wait_condition(...)"
