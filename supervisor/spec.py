"""What a supervisor is told (`ChildSpec`) and what it tells back (`ChildInfo`, `ExitReason`).

Hooks (all optional, all called in the supervisor's own thread — but for a quiet exit
of a pooled child `Supervisor.start_child` started, see there — so they must be quick
and must not call back into the same supervisor; an exception in a hook is logged and
ignored):

* ``on_exit(info, reason, exc)`` — every exit of every incarnation the supervisor
  observes, including the ones it caused (reason ``shutdown``/``killed``); ``exc`` is
  the exception for a crash, else ``None``. Called before any restart decision.
* ``on_restart(info, delay)`` — a replacement is about to start: ``info`` carries the
  new incarnation's ``pid`` and attempt count (``restarts``), with ``ref=None``;
  ``delay`` is the backoff that was waited. A failed start is then reported through
  ``on_exit`` like any crash, so the two hooks pair up.
* ``on_exhausted(info, reason, exc, action)`` — the child's own intensity is exhausted
  (policy ``on_exhausted`` is ``"fail"`` or ``"park"``, the ``action`` passed): the
  supervisor has forgotten the child; ``info``/``reason``/``exc`` describe its last exit.

``restart_history`` seeds the child's intensity window with earlier restarts, given as
*ages in seconds* (how long ago each happened), so a host can carry restart budgets
across its own restart without sharing a clock with the supervisor.
"""

from __future__ import annotations

import signal as _signal
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, Protocol

import pykka

from supervisor.policy import RESTART_TYPES, RestartPolicy, RestartType
from supervisor.pooled import PooledActor

#: the actor classes a supervisor starts as workers, one actor each
ACTOR_TYPES = (pykka.ThreadingActor, PooledActor)


class ActorClass(NamedTuple):
    """What a class given as a child's actor is, found once per class (a spec is built
    and its actor started per spawn, and `issubclass` against Pykka's ABC runs Python)."""

    #: one of `ACTOR_TYPES`: started as a worker, one actor each
    worker: bool
    #: a `PooledActor`: run on a dispatcher's threads
    pooled: bool


_ACTOR_CLASSES: dict[type, ActorClass] = {}


def actor_class(actor: type) -> ActorClass:
    """Whether `actor` is one of `ACTOR_TYPES`, and whether a `PooledActor`."""
    found = _ACTOR_CLASSES.get(actor)
    if found is None:
        found = _ACTOR_CLASSES[actor] = ActorClass(
            issubclass(actor, ACTOR_TYPES), issubclass(actor, PooledActor)
        )
    return found


if TYPE_CHECKING:
    from supervisor.supervisor import Supervisor

__all__ = [
    "ChildExhaustedHook",
    "ChildInfo",
    "ChildKind",
    "ChildRef",
    "ChildSpec",
    "ExitHook",
    "ExitKind",
    "ExitReason",
    "RestartHook",
    "Shutdown",
    "child_kind",
]

ExitKind = Literal["normal", "shutdown", "killed", "crash", "exit", "signal"]
Shutdown = float | Literal["brutal_kill", "infinity"]
ChildKind = Literal["worker", "supervisor"]


class ChildRef(Protocol):
    """What every child's ref offers (`ChildInfo.ref`): a `pykka.ActorRef` for an actor,
    a `Supervisor` for a sub-tree, a `ProcessRef` for a process. Narrow it with
    ``isinstance`` to talk to the child."""

    def is_alive(self) -> bool: ...


def child_kind(actor: object) -> ChildKind:
    """OTP's child type of a class given as ``ChildSpec.actor``, as the class declares it.

    A class whose ``child_kind`` class attribute is ``"supervisor"`` (`Supervisor`) is
    a sub-tree; anything else (a plain Pykka actor, a process) is a ``"worker"``.
    """
    return "supervisor" if getattr(actor, "child_kind", None) == "supervisor" else "worker"


@dataclass(frozen=True)
class ExitReason:
    """Why an incarnation ended.

    ``normal``: it stopped by itself (``stop()``, exit code 0). ``shutdown``: its
    supervisor stopped it (or, for a supervisor, it gave up). ``killed``: its
    supervisor stopped waiting and killed (process) or abandoned (thread) it.
    ``crash``: an exception escaped (``error`` names it). ``exit``: a process exited
    with a non-zero ``code``. ``signal``: a process died of ``signal``.
    """

    kind: ExitKind
    code: int | None = None
    signal: int | None = None
    error: str | None = None

    NORMAL: ClassVar[ExitReason]
    SHUTDOWN: ClassVar[ExitReason]
    KILLED: ClassVar[ExitReason]

    @classmethod
    def crash(cls, exc: BaseException) -> ExitReason:
        return cls("crash", error=f"{type(exc).__name__}: {exc}")

    @classmethod
    def from_exitcode(cls, code: int) -> ExitReason:
        """Map a `multiprocessing` exit code (negative for a signal) to a reason."""
        if code == 0:
            return cls.NORMAL
        if code < 0:
            return cls("signal", signal=-code)
        return cls("exit", code=code)

    @property
    def abnormal(self) -> bool:
        """True when a ``transient`` child should be restarted (OTP's rule)."""
        return self.kind in ("crash", "exit", "signal")

    def __str__(self) -> str:
        if self.kind == "crash":
            return f"crash ({self.error})"
        if self.kind == "exit":
            return f"exit code {self.code}"
        if self.kind == "signal" and self.signal is not None:
            try:
                return f"signal {_signal.Signals(self.signal).name}"
            except ValueError:
                return f"signal {self.signal}"
        return self.kind


ExitReason.NORMAL = ExitReason("normal")
ExitReason.SHUTDOWN = ExitReason("shutdown")
ExitReason.KILLED = ExitReason("killed")


@dataclass(frozen=True)
class ChildInfo:
    """A snapshot of one child. ``pid``/``ref`` are ``None`` while it is not running.

    ``ref`` is the child's `pykka.ActorRef`, a `Supervisor` handle for a supervisor
    child, or a `ProcessRef` (see `ChildRef`). ``restarts`` counts restarts of this
    key by this supervisor (plus the seeded ``restart_history``).
    """

    key: Hashable
    pid: int | None
    ref: ChildRef | None
    restart: RestartType
    alive: bool
    kind: ChildKind
    restarts: int


ExitHook = Callable[[ChildInfo, ExitReason, BaseException | None], None]
RestartHook = Callable[[ChildInfo, float], None]
ChildExhaustedHook = Callable[[ChildInfo, ExitReason, BaseException | None, str], None]


@dataclass(frozen=True)
class ChildSpec:
    """How to start, restart and stop one child.

    Give exactly one of ``actor`` (a `pykka.ThreadingActor` or `PooledActor` subclass,
    or a class that declares itself a sub-tree, ``child_kind = "supervisor"``, as
    `Supervisor` does) or ``process`` (a picklable callable run in a new process). The
    actor is built as ``actor(*args, **kwargs)``; `Supervisor` takes the arguments of
    `Supervisor.start`. ``restart=None`` takes the restart type of the policy.
    ``shutdown`` is seconds to wait for a graceful stop, ``"brutal_kill"`` or
    ``"infinity"``; ``None`` means 5 s for workers and ``"infinity"`` for supervisors.
    ``policy`` gives this child its own intensity window, backoff and ``on_exhausted``
    (its ``strategy`` is not read).
    """

    key: Hashable
    actor: type[pykka.ThreadingActor] | type[PooledActor] | type[Supervisor] | None = None
    process: Callable[..., object] | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    restart: RestartType | None = None
    shutdown: Shutdown | None = None
    start_method: Literal["forkserver", "spawn"] = "forkserver"
    policy: RestartPolicy | None = None
    restart_history: tuple[float, ...] = ()
    on_exit: ExitHook | None = None
    on_restart: RestartHook | None = None
    on_exhausted: ChildExhaustedHook | None = None

    def __post_init__(self) -> None:
        where = _Where(self.key)  # formatted only for an error: a spec is built per spawn
        if (self.actor is None) == (self.process is None):
            raise TypeError(f"{where}: give exactly one of actor= or process=")
        actor = self.actor
        if actor is not None and not (
            isinstance(actor, type)
            and actor_class(actor).worker != (child_kind(actor) == "supervisor")
        ):
            raise TypeError(
                f"{where}: actor={actor!r} must be a pykka.ThreadingActor or "
                "supervisor.PooledActor subclass, or supervisor.Supervisor"
            )
        if self.process is not None and not callable(self.process):
            raise TypeError(f"{where}: process={self.process!r} is not callable")
        if self.restart is not None and self.restart not in RESTART_TYPES:
            raise ValueError(f"{where}: restart={self.restart!r}; use one of {RESTART_TYPES}")
        shutdown = self.shutdown
        if not (
            shutdown is None
            or shutdown in ("brutal_kill", "infinity")
            or (
                isinstance(shutdown, int | float)
                and not isinstance(shutdown, bool)
                and shutdown >= 0
            )
        ):
            raise ValueError(
                f"{where}: shutdown={shutdown!r}; use seconds >= 0, 'brutal_kill' or 'infinity'"
            )
        if self.start_method not in ("forkserver", "spawn"):
            raise ValueError(
                f"{where}: start_method={self.start_method!r}; use 'forkserver' or 'spawn' "
                "(never fork a process that has threads)"
            )
        if not all(age >= 0 for age in self.restart_history):  # (NaN is not >= 0)
            raise ValueError(f"{where}: restart_history holds ages in seconds, all >= 0")


class _Where:
    """How an error names the spec, formatted only when one is raised."""

    __slots__ = ("key",)

    def __init__(self, key: Hashable) -> None:
        self.key = key

    def __format__(self, spec: str) -> str:
        return f"ChildSpec(key={self.key!r})"
