"""Where activity attempts run: supervised worker processes, or a thread pool.

The runtime hands an executor a `Task` and gets exactly one `Outcome` back
through a callback; errors arrive as `{type, message, traceback?}` maps, the
form in which they are recorded.
"""

from aion_actors.workers._imports import (
    check_not_in_worker_bootstrap,
    process_refusal,
    unimportable_reason,
)
from aion_actors.workers._process import check_start_method
from aion_actors.workers._restarts import DEFAULT_WORKER_RESTART
from aion_actors.workers._stats import PoolStats
from aion_actors.workers.control import CompleteLater, RetryAfter
from aion_actors.workers.errors import (
    FINAL_ERRORS,
    ActivityCancelled,
    ActivityHeartbeatTimeout,
    ActivityUnavailable,
    AttemptTimeout,
    CancelReason,
    ExecutorClosed,
    WorkerStartFailed,
)
from aion_actors.workers.pool import WorkerPool
from aion_actors.workers.task import (
    WITHDRAWN,
    AttemptInfo,
    AttemptKey,
    Executor,
    Outcome,
    Task,
    current_attempt,
)
from aion_actors.workers.thread import ThreadExecutor

__all__ = [
    "DEFAULT_WORKER_RESTART",
    "FINAL_ERRORS",
    "WITHDRAWN",
    "ActivityCancelled",
    "ActivityHeartbeatTimeout",
    "ActivityUnavailable",
    "AttemptInfo",
    "AttemptKey",
    "AttemptTimeout",
    "CancelReason",
    "CompleteLater",
    "Executor",
    "ExecutorClosed",
    "Outcome",
    "PoolStats",
    "RetryAfter",
    "Task",
    "ThreadExecutor",
    "WorkerPool",
    "WorkerStartFailed",
    "check_not_in_worker_bootstrap",
    "check_start_method",
    "current_attempt",
    "process_refusal",
    "unimportable_reason",
]
