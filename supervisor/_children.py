"""The supervisor's bookkeeping: one record per child spec, and small shared types."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from supervisor._incarnation import Incarnation
from supervisor._latch import Latch
from supervisor.errors import DuplicateChild
from supervisor.policy import RestartPolicy, RestartType, RestartWindow
from supervisor.spec import ChildInfo, ChildSpec, ExitReason, Shutdown

__all__ = ["Child", "RestartDue", "State", "SupervisorExhaustedHook", "call_hook", "logger"]

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

    __slots__ = ("claims", "done", "exit_reason", "lock", "name", "pid", "policy", "thread")

    def __init__(self, name: str, pid: int, policy: RestartPolicy) -> None:
        self.name = name
        self.pid = pid
        self.policy = policy
        self.exit_reason: ExitReason | None = None
        self.thread: threading.Thread | None = None
        self.done = Latch()
        self.lock = threading.Lock()
        self.claims: set[Hashable] = set()

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


@dataclass(frozen=True, slots=True)
class RestartDue:
    """Timer message: start the children of a group restart whose backoff is over."""

    keys: tuple[Hashable, ...]
    token: int
    delay: float


@dataclass(frozen=True, slots=True)
class Adopt:
    """From `Supervisor.start_child`: the actor child it launched under a claimed key.

    Launching an actor waits for its ``on_start``; done in the caller's
    thread, starts proceed in parallel instead of queueing behind one another
    in the supervisor's, which only does the bookkeeping.
    """

    spec: ChildSpec
    inc: Incarnation


class Child:
    """The supervisor's record of one child spec (running or not)."""

    __slots__ = (
        "inc", "kind", "restart", "restarts", "shutdown", "spec", "state", "token", "window",
    )

    def __init__(
        self, spec: ChildSpec, policy: RestartPolicy, window: RestartWindow | None
    ) -> None:
        self.spec = spec
        self.kind: Literal["worker", "supervisor"] = (
            "supervisor" if spec.is_supervisor else "worker"
        )
        self.restart: RestartType = spec.restart or (spec.policy or policy).restart
        self.shutdown: Shutdown = spec.shutdown if spec.shutdown is not None else (
            "infinity" if self.kind == "supervisor" else 5.0
        )
        self.window = window
        self.inc: Incarnation | None = None
        self.state: ChildState = "stopped"
        self.token = 0
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
