"""OTP-grade supervision for Pykka actors and OS processes.

Erlang/OTP supervisor semantics — strategies, restart types, restart intensity with
escalation, shutdown timeouts — for any `pykka.ThreadingActor` (no cooperation
needed), for `PooledActor`s (Pykka actors sharing a `Dispatcher`'s few threads) and
for `multiprocessing` children, plus backoff, per-child intensity
(``on_exhausted="fail"``/``"park"``) and observer hooks for hosts that persist
supervision events; `Latch` is the set-once event they are built on, and `bounded` /
`wait_long` make a thread wait of any length safe. Standalone: it
knows nothing of the hosts that use it.
"""

import importlib.metadata as _metadata
import logging as _logging

from supervisor._latch import Latch
from supervisor._timers import Timers
from supervisor._waits import LONGEST_WAIT, bounded, wait_long
from supervisor.errors import DuplicateChild, SupervisorError
from supervisor.policy import MOST_RESTARTS, Backoff, RestartPolicy, RestartWindow
from supervisor.pooled import Dispatcher, PooledActor
from supervisor.process import ProcessRef
from supervisor.spec import ChildInfo, ChildRef, ChildSpec, ExitReason
from supervisor.supervisor import Supervisor

__all__ = [
    "LONGEST_WAIT",
    "MOST_RESTARTS",
    "Backoff",
    "ChildInfo",
    "ChildRef",
    "ChildSpec",
    "Dispatcher",
    "DuplicateChild",
    "ExitReason",
    "Latch",
    "PooledActor",
    "ProcessRef",
    "RestartPolicy",
    "RestartWindow",
    "Supervisor",
    "SupervisorError",
    "Timers",
    "bounded",
    "wait_long",
]


def _warn_if_supervisord_is_installed() -> None:
    """supervisord's distribution is also imported as `supervisor`: say so, once, at import."""
    try:
        found = _metadata.distribution("supervisor")
    except _metadata.PackageNotFoundError:
        return
    _logging.getLogger(__name__).warning(
        "supervisord's 'supervisor' distribution (version %s) is installed in this environment; "
        "it uses the same import name as aion-actors' `supervisor` package, so one of them "
        "shadows the other. Install aion-actors and supervisord in separate virtualenvs.",
        found.version,
    )


_warn_if_supervisord_is_installed()
