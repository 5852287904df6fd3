"""The supervisor's bookkeeping: one record per child spec, and what its handle shares."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Literal

from supervisor._adoption import Adoptions
from supervisor._incarnation import Incarnation
from supervisor._latch import Latch
from supervisor.errors import DuplicateChild
from supervisor.policy import RestartPolicy, RestartType, RestartWindow
from supervisor.spec import ChildInfo, ChildKind, ChildSpec, ExitReason, Shutdown, child_kind

__all__ = ["Child", "State", "SupervisorExhaustedHook", "call_hook", "logger"]

logger = logging.getLogger("supervisor")

SupervisorExhaustedHook = Callable[[str, ChildInfo, ExitReason], None]
ChildState = Literal["running", "restarting", "stopped"]


class State:
    """What a `Supervisor` handle shares with its actor.

    ``claims`` holds every key the supervisor has a child under, plus those a
    `Supervisor.start_child` caller is starting in its own thread: claiming
    under ``lock`` is how a start refuses a duplicate without asking the
    supervisor's thread (a round trip that cost more than the start itself).
    """

    __slots__ = (
        "adoptions",
        "claims",
        "done",
        "exit_reason",
        "lock",
        "name",
        "pid",
        "policy",
        "thread",
    )

    def __init__(
        self,
        name: str,
        pid: int,
        policy: RestartPolicy,
        *,
        forget_exited: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: the supervisor's name; fixed
        self.name = name
        #: the supervisor's own pid; fixed
        self.pid = pid
        #: its restart policy; fixed
        self.policy = policy
        #: None while it runs; set once, by its own thread, as it stops or gives up
        self.exit_reason: ExitReason | None = None
        #: its actor's thread, set in ``on_start``; then fixed
        self.thread: threading.Thread | None = None
        #: set once its thread has exited (the launched incarnation's latch, put here
        #: right after the start)
        self.done = Latch()
        #: guards ``claims``
        self.lock = threading.Lock()
        #: every key with a child record, plus keys a caller is starting; a key is
        #: added before its child exists and discarded after its record is dropped
        self.claims: set[Hashable] = set()
        #: children callers started, not yet taken over by the supervisor's thread
        self.adoptions = Adoptions(self.lock, self.claims, forget_exited=forget_exited, clock=clock)

    def claim(self, key: Hashable) -> None:
        """Reserve ``key`` for a new child; `DuplicateChild` if it is taken."""
        with self.lock:
            if key in self.claims:
                raise DuplicateChild(
                    f"supervisor {self.name!r} already has a child {key!r}; "
                    "terminate_child and delete_child it first, or use another key"
                )
            self.claims.add(key)

    def release(self, key: Hashable) -> None:
        with self.lock:
            self.claims.discard(key)


class Child:
    """The supervisor's record of one child spec (running or not)."""

    __slots__ = (
        "inc",
        "kind",
        "restart",
        "restarts",
        "shutdown",
        "spec",
        "state",
        "token",
        "window",
    )

    def __init__(
        self, spec: ChildSpec, policy: RestartPolicy, window: RestartWindow | None
    ) -> None:
        #: how to start it; fixed
        self.spec = spec
        #: what its actor class declares itself (a process is a worker); fixed
        self.kind: ChildKind = child_kind(spec.actor)
        #: its restart type: the spec's, else its policy's; fixed
        self.restart: RestartType = spec.restart or (spec.policy or policy).restart
        #: how to stop it: the spec's, else 5 s for a worker and "infinity" for a
        #: supervisor; fixed
        self.shutdown: Shutdown = (
            spec.shutdown
            if spec.shutdown is not None
            else ("infinity" if self.kind == "supervisor" else 5.0)
        )
        #: its own intensity window, or None when it counts in the supervisor's; fixed
        self.window = window
        #: the running incarnation; None exactly when ``state`` is not "running"
        #: (a running one may have exited, its exit not yet handled)
        self.inc: Incarnation | None = None
        #: "running" (``inc`` set), "restarting" (a restart of group ``token`` is
        #: due) or "stopped"
        self.state: ChildState = "stopped"
        #: the group restart it waits for while "restarting"; a due restart with
        #: another token is stale
        self.token = 0
        #: restarts of this key (seeded with ``restart_history``); only grows
        self.restarts = len(spec.restart_history)

    def info(self, inc: Incarnation | None = None, pid: int | None = None) -> ChildInfo:
        """A snapshot of the child now; or, given ``inc`` or ``pid``, of that ended run."""
        alive = False
        if inc is None and pid is None:
            inc = self.inc
            alive = inc is not None and not inc.done.is_set()
        return ChildInfo(
            key=self.spec.key,
            pid=pid if inc is None else inc.pid,
            ref=None if inc is None else inc.ref,
            restart=self.restart,
            alive=alive,
            kind=self.kind,
            restarts=self.restarts,
        )


def call_hook(hook: Callable[..., object] | None, *args: Any) -> None:
    """Run a user hook; its failure is logged, never allowed to break the supervisor."""
    if hook is None:
        return
    try:
        hook(*args)
    except Exception:
        logger.exception("supervisor hook %r raised; ignored", hook)
