"""Children a `Supervisor` handle started, until the supervisor's thread needs them.

A host that starts hundreds of short-lived children a second (one per job) would
otherwise wake the supervisor's thread twice for each: once to adopt the child
its caller launched, once for its exit. Most such children end quietly — a
normal exit that wants no restart and leaves no record (``temporary``, or a
supervisor that forgets exited children) — and then the supervisor has nothing
to decide. So an actor a handle launched is only *registered* here, under the
supervisor's state lock, with the time of its start; the supervisor's thread
takes every registered child over (`take`, in registration order) before it
handles any message or stops, so whatever it decides (a restart group,
`which_children`, the order it stops children in) sees them all, in start order,
as if adopted when they started. A quiet exit of a pooled child not taken over
yet is bookkept by the exiting thread itself: its record and claim are dropped
under the lock and ``on_exit`` is called there. Any other exit (a crash, an exit
that wants a restart or keeps a record, a thread actor's, whose thread the
supervisor joins) leaves the child registered and wakes the supervisor, which
takes it over, finds it exited and applies its rules as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from supervisor._incarnation import Incarnation
from supervisor.policy import RestartType
from supervisor.spec import ChildInfo, ChildSpec, ExitReason

__all__ = ["Adoptions", "Closed", "Quiet", "Wake"]


@dataclass(frozen=True, slots=True)
class Quiet:
    """A quiet exit, bookkept: call the spec's ``on_exit`` with these (outside the lock)."""

    spec: ChildSpec
    info: ChildInfo
    reason: ExitReason


@dataclass(frozen=True, slots=True)
class Wake:
    """The supervisor must decide about this exit: tell it the incarnation."""

    inc: Incarnation


@dataclass(frozen=True, slots=True)
class Closed:
    """The supervisor stopped while the child was launching: stop it, report the start failed."""


class _Pending:
    __slots__ = ("at", "exited", "inc", "quiet", "restart", "spec")

    def __init__(self, spec: ChildSpec, restart: RestartType, at: float, quiet: bool) -> None:
        #: how it was started, and its restart type (the spec's, else its policy's); fixed
        self.spec = spec
        self.restart = restart
        #: the supervisor's clock at its start (its intensity window starts there); fixed
        self.at = at
        #: whether its exit may be bookkept by the exiting thread (a pooled actor); fixed
        self.quiet = quiet
        #: None while its caller is launching it; then fixed
        self.inc: Incarnation | None = None
        #: an exit told while ``inc`` was still None (it ended during its own start)
        self.exited: Incarnation | None = None


class Adoptions:
    """The registered children of one supervisor; every method takes the state's lock."""

    __slots__ = ("_claims", "_clock", "_forget_exited", "_lock", "_pending", "closed")

    def __init__(
        self,
        lock: threading.Lock,
        claims: set[Hashable],
        *,
        forget_exited: bool,
        clock: Callable[[], float],
    ) -> None:
        #: the supervisor's state lock and claimed keys (a registered key stays claimed)
        self._lock = lock
        self._claims = claims
        #: the supervisor drops the record of a child that exits for good; fixed
        self._forget_exited = forget_exited
        #: the supervisor's monotonic clock; fixed
        self._clock = clock
        #: key -> registered child, in registration order
        self._pending: dict[Hashable, _Pending] = {}
        #: set once by the supervisor's thread as it stops: nothing is registered after
        self.closed = False

    def begin(self, spec: ChildSpec, restart: RestartType, *, pooled: bool) -> None:
        """Its caller (holding the claim on ``spec.key``) is about to launch the child."""
        pending = _Pending(spec, restart, self._clock(), pooled)
        with self._lock:
            self._pending[spec.key] = pending

    def abort(self, key: Hashable) -> None:
        """The launch failed: forget the registration (the caller releases the claim)."""
        with self._lock:
            self._pending.pop(key, None)

    def launched(self, spec: ChildSpec, inc: Incarnation) -> Quiet | Wake | Closed | None:
        """The child runs: None, or what its caller must do now (see the classes)."""
        with self._lock:
            pending = self._pending[spec.key]
            if self.closed:
                del self._pending[spec.key]
                return Closed()
            pending.inc = inc
            if pending.exited is None:
                return None
            return self._settle(pending, inc)

    def exited(self, inc: Incarnation) -> Quiet | Wake | None:
        """``inc`` has exited (told from its last thread): None if its launcher will see
        to it, a `Quiet` exit bookkept here, or `Wake` (also for any child the
        supervisor has taken over)."""
        with self._lock:
            pending = self._pending.get(inc.key)
            if pending is None or (pending.inc is not None and pending.inc is not inc):
                return Wake(inc)
            if pending.inc is None:
                pending.exited = inc
                return None
            return self._settle(pending, inc)

    def take(self, *, closing: bool = False) -> list[tuple[ChildSpec, Incarnation, float]]:
        """Every launched registered child, in order, for the supervisor's thread to take
        over; ``closing``: register nothing more (those still launching are refused)."""
        with self._lock:
            if closing:
                self.closed = True
            if not self._pending:
                return []
            taken = [(key, p) for key, p in self._pending.items() if p.inc is not None]
            for key, _ in taken:
                del self._pending[key]
        return [(p.spec, p.inc, p.at) for _, p in taken if p.inc is not None]

    def _settle(self, pending: _Pending, inc: Incarnation) -> Quiet | Wake:
        """Under the lock: bookkeep a quiet exit here, else leave it to the supervisor."""
        reason, _ = inc.exit_reason()
        spec, restart = pending.spec, pending.restart
        forgotten = restart == "temporary" or (restart == "transient" and self._forget_exited)
        if reason.abnormal or not forgotten or not pending.quiet:
            return Wake(inc)
        del self._pending[spec.key]
        self._claims.discard(spec.key)
        inc.handled = True
        info = ChildInfo(spec.key, inc.pid, inc.ref, restart, False, "worker", 0)
        return Quiet(spec, info, reason)
