"""aion-actors: an embedded, durable workflow engine on the actor model.

Each workflow run is a Pykka actor supervised OTP-style; its history is a
msgpack event log in LMDB, replayed after any crash so that no completed
step runs twice. The README has the tour, the API, the durability contract
and the configuration reference: it is README.md in the source tree and the
package's long description (`importlib.metadata.metadata("aion-actors")`).
"""

from aion_actors.core import (
    AionError,
    ConfigError,
    CorruptEvent,
    DataDirLocked,
    DefaultConverter,
    EngineClosed,
    NonDeterminismError,
    PayloadConverter,
    PayloadError,
    QueryError,
    SchemaMismatch,
    SequenceConflict,
    StoreFull,
    StoreUnavailable,
    TypedConverter,
    WorkerCrashed,
    WorkflowAlreadyStarted,
    WorkflowCancelled,
    WorkflowClosed,
    WorkflowError,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowParked,
    WorkflowStatus,
)
from aion_actors.core.errors import CorruptStore
from aion_actors.engine import Engine
from aion_actors.handles import RunDescription, RunHandle
from aion_actors.runtime import (
    ActivityError,
    ActivityTimeout,
    Cancelled,
    ChildWorkflowError,
    ForeignAwaitError,
    RetryPolicy,
    SignalTimeout,
    WorkflowContext,
    activity,
    workflow,
)
from aion_actors.workers import (
    ActivityCancelled,
    ActivityHeartbeatTimeout,
    ActivityUnavailable,
    AttemptInfo,
    current_attempt,
)

__version__ = "0.1.0"

__all__ = [
    "ActivityCancelled",
    "ActivityError",
    "ActivityHeartbeatTimeout",
    "ActivityTimeout",
    "ActivityUnavailable",
    "AionError",
    "AttemptInfo",
    "Cancelled",
    "ChildWorkflowError",
    "ConfigError",
    "CorruptEvent",
    "CorruptStore",
    "DataDirLocked",
    "DefaultConverter",
    "Engine",
    "EngineClosed",
    "ForeignAwaitError",
    "NonDeterminismError",
    "PayloadConverter",
    "PayloadError",
    "QueryError",
    "RetryPolicy",
    "RunDescription",
    "RunHandle",
    "SchemaMismatch",
    "SequenceConflict",
    "SignalTimeout",
    "StoreFull",
    "StoreUnavailable",
    "TypedConverter",
    "WorkerCrashed",
    "WorkflowAlreadyStarted",
    "WorkflowCancelled",
    "WorkflowClosed",
    "WorkflowContext",
    "WorkflowError",
    "WorkflowFailed",
    "WorkflowNotFound",
    "WorkflowParked",
    "WorkflowStatus",
    "activity",
    "current_attempt",
    "workflow",
]
