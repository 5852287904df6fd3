"""OTP-grade supervision for Pykka actors and OS processes.

Erlang/OTP supervisor semantics — strategies, restart types, restart intensity with
escalation, shutdown timeouts — for any `pykka.ThreadingActor` (no cooperation
needed) and for `multiprocessing` children, plus backoff, per-child intensity
(``on_exhausted="fail"``/``"park"``) and observer hooks for hosts that persist
supervision events. `Registry`/`Handle` are a generic thread-safe table of supervised
things with a completion notifier. Standalone: it knows nothing about workflows.
"""

from supervisor.errors import RegistryError, SupervisorError
from supervisor.handle import CompletionNotifier, Handle, Outcome, Residency
from supervisor.policy import Backoff, RestartPolicy
from supervisor.process import ProcessRef
from supervisor.registry import Registry
from supervisor.spec import ChildInfo, ChildSpec, ExitReason
from supervisor.supervisor import Supervisor

__all__ = [
    "Backoff",
    "ChildInfo",
    "ChildSpec",
    "CompletionNotifier",
    "ExitReason",
    "Handle",
    "Outcome",
    "ProcessRef",
    "Registry",
    "RegistryError",
    "Residency",
    "RestartPolicy",
    "Supervisor",
    "SupervisorError",
]
