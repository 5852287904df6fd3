"""One supervisor's children and the rules it applies to them.

OTP's supervisor state and the functions on it: the child table, the intensity
window(s), the pending group restarts. Only the supervisor actor's thread calls a
`Tree` (the actor owns it and hands it each message), so it takes no lock; only the
claimed keys (`State.claims`) are shared with callers of `Supervisor.start_child`.
The rules themselves (which group restarts, the backoff, whether the intensity is
exhausted) are the functions of `supervisor._restarts`; starting and stopping
incarnations is `supervisor._launcher`'s job.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable

from supervisor import _restarts
from supervisor._children import Child, State, SupervisorExhaustedHook, call_hook, logger
from supervisor._incarnation import Incarnation, next_pid
from supervisor._launcher import Launcher, StartSubtree
from supervisor._messages import RestartDue
from supervisor._timers import Timers
from supervisor.errors import SupervisorError
from supervisor.policy import RestartPolicy, RestartWindow
from supervisor.spec import ChildInfo, ChildSpec, ExitReason

__all__ = ["Tree"]


class Tree:
    """The children of one supervisor, and every change to them."""

    def __init__(
        self,
        state: State,
        *,
        tell: Callable[[object], None],
        start_subtree: StartSubtree,
        stop: Callable[[], None],
        on_exhausted: SupervisorExhaustedHook | None,
        forget_exited: bool,
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        #: what the supervisor's handles share (name, claims, exit reason); fixed
        self.state = state
        #: the restart policy; fixed
        self.policy = policy = state.policy
        #: key -> record, in start order; a key here is in ``state.claims`` too
        self._children: dict[Hashable, Child] = {}
        #: restarts of every child without a window of its own (OTP's intensity)
        self._window = RestartWindow(policy)
        #: True when each child gets its own window (``on_exhausted`` fail/park); fixed
        self._child_windows = policy.on_exhausted != "escalate"
        #: tokens of group restarts, increasing: a due restart carries the one it was
        #: scheduled with, and only children still waiting under it are started
        self._tokens = itertools.count(1)
        #: delivers due restarts to the supervisor's mailbox; closed when stopping
        self._timers = Timers(tell)
        #: starts and stops the children's incarnations
        self._launcher = Launcher(state.name, tell, start_subtree)
        #: stops the supervisor actor at once, after giving up; fixed
        self._stop = stop
        #: the host's hook for when this supervisor gives up; fixed
        self._on_exhausted = on_exhausted
        #: drop a child's record once it exits for good (``simple_one_for_one``); fixed
        self._forget_exited = forget_exited
        #: the monotonic clock and U[0,1) source of the window and backoff; fixed
        self._clock = clock
        self._random = random
        #: set once the children are stopped for good; never cleared
        self._stopping = False

    @property
    def name(self) -> str:
        return self.state.name

    # -- calls -------------------------------------------------------------------

    def start_static(self, specs: Iterable[ChildSpec]) -> None:
        """Start the children given at the supervisor's start, in order; all or none."""
        try:
            for spec in specs:
                self.start_child(spec)
        except BaseException:
            self.shutdown_all()
            raise

    def start_child(self, spec: ChildSpec) -> ChildInfo:
        if not isinstance(spec, ChildSpec):
            raise SupervisorError(
                f"supervisor {self.name!r}: start_child needs a ChildSpec, not {spec!r}"
            )
        self.state.claim(spec.key)
        child = Child(spec, self.policy, self._window_for(spec))
        try:
            self._launcher.launch(child, next_pid())
        except BaseException:
            self.state.release(spec.key)
            raise
        self._children[spec.key] = child
        return child.info()

    def adopt(self, spec: ChildSpec, inc: Incarnation, at: float) -> None:
        """Take over a child launched at ``at`` by the caller of `start_child` under its
        claim."""
        self._record(spec, inc, at)
        if self._stopping:
            self._launcher.shutdown(self._children[spec.key])
        elif inc.done.is_set():
            self.child_exited(inc)  # it ended before we heard of it

    def _record(self, spec: ChildSpec, inc: Incarnation, at: float) -> None:
        child = Child(spec, self.policy, self._window_for(spec, at))
        child.inc = inc
        child.state = "running"
        self._children[spec.key] = child

    def adopt_registered(self) -> None:
        """Take over the children callers started and registered (see
        `supervisor._adoption`), in order."""
        for spec, inc, at in self.state.adoptions.take():
            self.adopt(spec, inc, at)

    def terminate_child(self, key: Hashable) -> None:
        child = self._get(key)
        if child.inc is not None:
            self._launcher.shutdown(child)
        child.state = "stopped"
        if child.restart == "temporary":
            self._drop(key)

    def restart_child(self, key: Hashable) -> ChildInfo:
        child = self._not_running(key)
        self._launcher.launch(child, next_pid())
        return child.info()

    def delete_child(self, key: Hashable) -> None:
        self._drop(self._not_running(key).spec.key)

    def lookup(self, key: Hashable) -> ChildInfo | None:
        child = self._children.get(key)
        return None if child is None else child.info()

    def which_children(self) -> list[ChildInfo]:
        return [child.info() for child in self._children.values()]

    def count_children(self) -> dict[str, int]:
        return _restarts.counts(self._children.values())

    def _drop(self, key: Hashable) -> None:
        """Forget a child: its key may be started again."""
        del self._children[key]
        self.state.release(key)

    def _not_running(self, key: Hashable) -> Child:
        """The child with ``key``, which must not be running (to restart or delete it)."""
        child = self._get(key)
        if child.inc is not None:
            raise SupervisorError(
                f"child {key!r} of supervisor {self.name!r} is running; terminate_child it first"
            )
        return child

    def _get(self, key: Hashable) -> Child:
        try:
            return self._children[key]
        except KeyError:
            raise SupervisorError(f"supervisor {self.name!r} has no child {key!r}") from None

    def _window_for(self, spec: ChildSpec, at: float | None = None) -> RestartWindow | None:
        return _restarts.window_for(
            spec,
            self.policy,
            self._window,
            self._child_windows,
            self._clock() if at is None else at,
        )

    def shutdown_all(self) -> None:
        """Stop every child in reverse start order; then our helper threads."""
        for spec, inc, at in self.state.adoptions.take(closing=True):
            self._record(spec, inc, at)  # stopped below with the others, newest first
        self._stopping = True
        for child in reversed(list(self._children.values())):
            if child.inc is not None:
                self._launcher.shutdown(child)
            child.state = "stopped"
        self._timers.close()
        self._launcher.close()

    # -- exits and restarts --------------------------------------------------------

    def child_exited(self, inc: Incarnation) -> None:
        child = self._children.get(inc.key)
        if inc.handled or child is None or child.inc is not inc or self._stopping:
            return
        inc.handled = True
        inc.join()
        child.inc = None
        child.state = "stopped"
        reason, exc = inc.exit_reason()
        info = child.info(inc)
        call_hook(child.spec.on_exit, info, reason, exc)
        if _restarts.wants_restart(child, reason):
            group = _restarts.group(self.policy.strategy, self._children.values(), child)
            self._restart(child, info, reason, exc, group)
        elif child.restart == "temporary" or self._forget_exited:
            self._drop(inc.key)

    def _restart(
        self,
        child: Child,
        info: ChildInfo,
        reason: ExitReason,
        exc: BaseException | None,
        group: list[Child],
    ) -> None:
        """Count one restart of ``group`` (caused by ``child``) and do it, or give up."""
        policy = (child.spec.policy or self.policy) if child.window else self.policy
        window = child.window or self._window
        delay = _restarts.backoff(window, policy, self._clock(), self._random)
        if delay is None:
            self._exhausted(child, policy, info, reason, exc, group)
            return
        for other in reversed(group):
            if other is not child and other.inc is not None:
                self._launcher.shutdown(other)
        temporary = [c for c in group if c is not child and c.restart == "temporary"]
        for other in temporary:
            self._drop(other.spec.key)  # a sibling's restart never restarts it
        self._schedule([c for c in group if c not in temporary], delay)

    def _schedule(self, group: list[Child], delay: float) -> None:
        token = next(self._tokens)
        for child in group:
            child.state = "restarting"
            child.token = token
        keys = tuple(child.spec.key for child in group)
        if delay > 0:
            logger.debug("supervisor %r restarts %r in %.3f s", self.name, keys, delay)
            self._timers.schedule(delay, RestartDue(keys, token, delay))
        else:
            self.start_group(keys, token, delay)

    def start_group(self, keys: tuple[Hashable, ...], token: int, delay: float) -> None:
        """A group restart is due: start those of its children still waiting for it."""
        if self._stopping:
            return
        todo = _restarts.due(self._children, keys, token)
        for i, child in enumerate(todo):
            child.restarts += 1
            pid = next_pid()
            call_hook(child.spec.on_restart, child.info(pid=pid), delay)
            try:
                self._launcher.launch(child, pid)
            except SupervisorError as err:
                self._failed_restart(child, pid, err, todo, i)
                return

    def _failed_restart(
        self, child: Child, pid: int, err: SupervisorError, todo: list[Child], i: int
    ) -> None:
        """A start failed mid-restart: it counts as a restart; retry as the strategy says."""
        exc = err.__cause__ or err
        reason = ExitReason.crash(exc)
        info = child.info(pid=pid)
        logger.warning("%s", err)
        call_hook(child.spec.on_exit, info, reason, exc)
        child.state = "stopped"
        stop, retry = _restarts.retry(self.policy.strategy, todo, i)
        for started in stop:
            if started.inc is not None:
                self._launcher.shutdown(started)
        self._restart(child, info, reason, exc, retry)

    def _exhausted(
        self,
        child: Child,
        policy: RestartPolicy,
        info: ChildInfo,
        reason: ExitReason,
        exc: BaseException | None,
        group: list[Child],
    ) -> None:
        if policy.on_exhausted == "escalate":
            self._give_up(info, reason, policy)
            return
        logger.warning(
            "supervisor %r: child %r exited (%s) more than %d times in %.3g s; %s",
            self.name,
            child.spec.key,
            reason,
            policy.max_restarts,
            policy.within_seconds,
            policy.on_exhausted,
        )
        self._drop(child.spec.key)
        call_hook(child.spec.on_exhausted, info, reason, exc, policy.on_exhausted)
        waiting = [c for c in group if c is not child and c.state == "restarting"]
        if waiting:
            self._schedule(waiting, 0.0)

    def _give_up(self, info: ChildInfo, reason: ExitReason, policy: RestartPolicy) -> None:
        """Intensity exhausted (`policy`'s: the child's own, or this supervisor's): stop all
        children, exit ``shutdown`` and tell the host."""
        logger.error(
            "supervisor %r gives up: child %r exited (%s) more than %d times in %.3g s",
            self.name,
            info.key,
            reason,
            policy.max_restarts,
            policy.within_seconds,
        )
        self.state.exit_reason = ExitReason.SHUTDOWN
        self.shutdown_all()
        call_hook(self._on_exhausted, self.name, info, reason)
        self._stop()
