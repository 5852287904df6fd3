"""Run actors, the replay driver, the workflow context, timers and activity dispatch."""

from aion_actors.runtime.commands import (
    ActivityError,
    ActivityTimeout,
    Cancelled,
    ChildWorkflowError,
    ConditionTimeout,
    EngineCallInWorkflow,
    ExternalWorkflowError,
    ForeignAwaitError,
    SignalTimeout,
)
from aion_actors.runtime.context import WorkflowContext
from aion_actors.runtime.definitions import (
    ActivityDefinition,
    AttemptFailure,
    RetryPolicy,
    WorkflowDefinition,
    activity,
    workflow,
)
from aion_actors.runtime.workflow_handles import ChildHandle, ExternalHandle

__all__ = [
    "ActivityDefinition",
    "ActivityError",
    "ActivityTimeout",
    "AttemptFailure",
    "Cancelled",
    "ChildHandle",
    "ChildWorkflowError",
    "ConditionTimeout",
    "EngineCallInWorkflow",
    "ExternalHandle",
    "ExternalWorkflowError",
    "ForeignAwaitError",
    "RetryPolicy",
    "SignalTimeout",
    "WorkflowContext",
    "WorkflowDefinition",
    "activity",
    "workflow",
]
