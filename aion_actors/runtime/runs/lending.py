"""A lone start's first turn, taken in the thread that asked for it.

`Engine.start` waits until the new run has committed its opening (its
`WorkflowStarted` with what its workflow does first). Handed to a dispatcher
thread, that first turn costs a thread wake-up and GIL hand-offs while the
caller only sleeps. `OpeningLender.admit` instead opens the run dispatcher's
lending window around the actor's start: if the dispatcher is quiet, the turn
is held and runs in the caller's thread when the window closes — before the
caller's wait, which then finds the ack resolved. Record, then act, is
unchanged: the turn commits before it dispatches anything.

Workflow code then runs in the caller's thread, so only where that thread's
state cannot leak into it:

- never in the main thread (signals and Ctrl-C land there, and asyncio hands
  the main thread an event loop on request, which workflow code must not get);
- never in a thread running an asyncio event loop (the workflow would see it);
- in a fresh `contextvars.Context`, so the caller's context variables (an
  OpenTelemetry span, say) are not the workflow's.

Several runs started together are never lent: in a dispatcher thread their
openings share a commit.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

_T = TypeVar("_T")

#: messages of a lent opening turn: the replay (which commits the opening), that
#: commit's `Committed` (which dispatches the first commands), and one more, which finds
#: the inbox empty and ends the turn; later messages go to the dispatcher as usual
OPENING_MESSAGES = 3

#: the run dispatcher's `lend(budget)` (see `supervisor.Dispatcher.lend`)
Lend = Callable[[int], AbstractContextManager[None]]


def may_lend_here() -> bool:
    """Whether workflow code may run in the calling thread (see the module docstring)."""
    if threading.current_thread() is threading.main_thread():
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


class OpeningLender:
    """Runs a lone start's first turn in its caller's thread, where that is safe."""

    def __init__(self, lend: Lend | None) -> None:
        #: None: never lend (an engine without a run dispatcher of its own)
        self._lend = lend

    def admit(self, admit: Callable[[], _T], *, runs: int, wait: bool) -> _T:
        """`admit()` (which starts the runs' actors); one run, waited for, and a thread
        that may run workflow code: inside the lending window, in a fresh context."""
        if self._lend is None or runs != 1 or not wait or not may_lend_here():
            return admit()
        return contextvars.Context().run(self._lent, admit)

    def _lent(self, admit: Callable[[], _T]) -> _T:
        assert self._lend is not None
        with self._lend(OPENING_MESSAGES):
            return admit()
