"""One run of a child (thread actor or process), seen uniformly by the supervisor."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from typing import Any

from supervisor._latch import Latch
from supervisor.spec import ExitReason, Shutdown

__all__ = ["Incarnation", "Notify", "next_pid", "stop_incarnation"]

_pids = itertools.count(1)


def next_pid() -> int:
    """A new pid, unique for this interpreter's lifetime (``next`` on a count is atomic)."""
    return next(_pids)


class Incarnation:
    """What the supervisor needs of a running child: stop it, and learn how it ended.

    ``done`` is set exactly once, by the thread that observed the exit (the child's own
    thread, or the process watcher); ``handled`` is only touched by the supervisor's
    thread and marks an exit it has already dealt with, so the later exit message is
    ignored (a late exit is never mistaken for a crash).
    """

    __slots__ = ("done", "handled", "key", "pid", "ref")

    def __init__(self, key: Hashable, pid: int, ref: Any) -> None:
        #: the child's key in its supervisor; fixed
        self.key = key
        #: this incarnation's pid, unique in the interpreter; fixed
        self.pid = pid
        #: what callers get as `ChildInfo.ref`; set once, at start
        self.ref = ref
        #: set once, by the thread that observed the exit
        self.done = Latch()
        #: True once the supervisor has dealt with this exit; only its thread touches it
        self.handled = False

    def exit_reason(self) -> tuple[ExitReason, BaseException | None]:
        """How it ended by itself; only meaningful once ``done`` is set."""
        raise NotImplementedError

    def request_stop(self) -> None:
        """Ask for a graceful stop; returns at once."""
        raise NotImplementedError

    def force_stop(self) -> None:
        """Stop without waiting for cooperation: SIGKILL, or abandon a thread."""
        raise NotImplementedError

    def wait_forced(self) -> None:
        """After `force_stop`, wait as long as it makes sense for the exit."""

    def join(self) -> None:
        """After ``done``, release what is left (join the thread)."""


Notify = Callable[[Incarnation], None]


def stop_incarnation(
    inc: Incarnation, shutdown: Shutdown
) -> tuple[ExitReason, BaseException | None]:
    """Stop ``inc`` as its supervisor (OTP ``shutdown``); return the exit to report."""
    inc.handled = True
    if inc.done.is_set():
        inc.join()
        return inc.exit_reason()
    if shutdown == "brutal_kill":
        inc.force_stop()
        inc.wait_forced()
        return ExitReason.KILLED, None
    inc.request_stop()
    if inc.done.wait(None if shutdown == "infinity" else float(shutdown)):
        inc.join()
        reason, exc = inc.exit_reason()
        return (reason, exc) if reason.kind == "crash" else (ExitReason.SHUTDOWN, None)
    inc.force_stop()
    inc.wait_forced()
    return ExitReason.KILLED, None
