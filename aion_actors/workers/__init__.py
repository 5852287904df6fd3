"""Where activity attempts run: supervised worker processes, or a thread pool.

The runtime hands an executor a `Task` and gets exactly one `Outcome` back
through a callback; errors arrive as `{type, message, traceback?}` maps, the
form in which they are recorded.
"""

from aion_actors.workers.errors import ActivityTimeout, ExecutorClosed, WorkerStartFailed
from aion_actors.workers.pool import PoolStats, WorkerPool
from aion_actors.workers.task import AttemptInfo, Executor, Outcome, Task, current_attempt
from aion_actors.workers.thread import ThreadExecutor

__all__ = [
    "ActivityTimeout",
    "AttemptInfo",
    "Executor",
    "ExecutorClosed",
    "Outcome",
    "PoolStats",
    "Task",
    "ThreadExecutor",
    "WorkerPool",
    "WorkerStartFailed",
    "current_attempt",
]
