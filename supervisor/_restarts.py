"""OTP's restart rules, as functions of the supervisor's state.

The supervisor actor owns its child records; these take them (and its window and
policy) and return a decision, the way `RestartWindow.add` returns a count, so that
the actor's own code is the order of the side effects only: stop these, drop that,
schedule those.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping

from supervisor._children import Child
from supervisor.policy import RestartPolicy, RestartWindow, Strategy
from supervisor.spec import ChildSpec, ExitReason

__all__ = ["backoff", "counts", "due", "group", "retry", "wants_restart", "window_for"]


def window_for(
    spec: ChildSpec,
    policy: RestartPolicy,
    shared: RestartWindow,
    own_windows: bool,
    now: float,
) -> RestartWindow | None:
    """A new child's own intensity window, seeded with its ``restart_history``; or None
    when it counts in the supervisor's ``shared`` one (then seeded there)."""
    earlier = [now - age for age in spec.restart_history]
    if spec.policy is None and not own_windows:
        shared.seed(earlier)
        return None
    return RestartWindow(spec.policy or policy, earlier)


def wants_restart(child: Child, reason: ExitReason) -> bool:
    """``permanent``: always; ``transient``: after an abnormal exit; ``temporary``: never."""
    return child.restart == "permanent" or (child.restart == "transient" and reason.abnormal)


def group(strategy: Strategy, children: Iterable[Child], child: Child) -> list[Child]:
    """The children a restart of ``child`` involves, in start order."""
    if strategy == "one_for_one":
        return [child]
    ordered = list(children)
    return ordered if strategy == "one_for_all" else ordered[ordered.index(child) :]


def backoff(
    window: RestartWindow, policy: RestartPolicy, now: float, random: Callable[[], float]
) -> float | None:
    """Count one restart at ``now``: the delay before it, or None when that restart
    exhausts the intensity (more than ``max_restarts`` within the window)."""
    count = window.add(now)
    if count > policy.max_restarts:
        return None
    return policy.backoff.delay(count - 1, random)


def retry(strategy: Strategy, todo: list[Child], failed: int) -> tuple[list[Child], list[Child]]:
    """``todo[failed]`` failed to start during a group restart: ``(to stop, to retry)``.

    ``one_for_all`` stops those of the group already started again (in reverse) and
    retries them all; the others retry from the failed child on.
    """
    if strategy == "one_for_all":
        return list(reversed(todo[:failed])), todo
    return [], todo[failed:]


def due(children: Mapping[Hashable, Child], keys: Iterable[Hashable], token: int) -> list[Child]:
    """The children of group restart ``token`` that still wait for it, in its order."""
    return [
        child
        for key in keys
        if (child := children.get(key)) is not None
        and child.state == "restarting"
        and child.token == token
    ]


def counts(children: Iterable[Child]) -> dict[str, int]:
    """OTP's ``count_children``: specs, active (running) ones, supervisors and workers."""
    ordered = list(children)
    supervisors = sum(child.kind == "supervisor" for child in ordered)
    return {
        "specs": len(ordered),
        "active": sum(c.inc is not None and not c.inc.done.is_set() for c in ordered),
        "supervisors": supervisors,
        "workers": len(ordered) - supervisors,
    }
