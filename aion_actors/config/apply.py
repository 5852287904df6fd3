"""Applying a `Config` to workflow and activity definitions: file < decorator < argument.

A setting a `@workflow`/`@activity` decorator made explicitly (the
definition's `explicit`) keeps its value over the file's; an argument given
here (from `engine.register(...)`) wins over both.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from aion_actors.config.file import Config
from aion_actors.runtime import options as opt
from aion_actors.runtime.definitions import (
    EXECUTORS,
    ActivityDefinition,
    RetryPolicy,
    WorkflowDefinition,
    check_process_activity,
    run_restart_policy,
)
from supervisor import RestartPolicy

__all__ = ["configure", "configure_activity", "configure_workflow"]


def configure(
    definition: WorkflowDefinition | ActivityDefinition[Any, Any],
    config: Config | None,
    *,
    restart: RestartPolicy | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    executor: Literal["process", "thread"] | None = None,
) -> WorkflowDefinition | ActivityDefinition[Any, Any]:
    """A workflow or activity definition with its effective settings (see the module docstring)."""
    if isinstance(definition, WorkflowDefinition):
        return configure_workflow(definition, config, restart=restart)
    if isinstance(definition, ActivityDefinition):
        return configure_activity(
            definition, config, retry=retry, timeout=timeout, executor=executor
        )
    return definition  # not a definition: the catalog refuses it with a clear message


def configure_workflow(
    definition: WorkflowDefinition,
    config: Config | None,
    *,
    restart: RestartPolicy | None = None,
) -> WorkflowDefinition:
    """`definition` with its effective restart policy (file < decorator < `restart`) and
    retention (file < decorator)."""
    changes: dict[str, Any] = {}
    label = f"engine.register() of workflow {definition.name!r}"
    if (policy := opt.instance_or_none(label, "restart", restart, RestartPolicy)) is not None:
        changes["restart"] = run_restart_policy(policy, label)
    elif config is not None and "restart" not in definition.explicit:
        changes["restart"] = run_restart_policy(config.restart_policy(definition.name), label)
    if config is not None and "retention" not in definition.explicit:
        changes["retention"] = config.retention_of(definition.name)
    return dataclasses.replace(definition, **changes) if changes else definition


def configure_activity(
    definition: ActivityDefinition[Any, Any],
    config: Config | None,
    *,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    executor: Literal["process", "thread"] | None = None,
) -> ActivityDefinition[Any, Any]:
    """`definition` with its effective retry, timeout and executor: file < decorator < argument."""
    changes: dict[str, Any] = {}
    table = config.activities.get(definition.name) if config is not None else None
    if table is not None:
        for name in ("retry", "timeout", "executor", "concurrency", "rate"):
            value = getattr(table, name)
            if value is not None and name not in definition.explicit:
                changes[name] = value
    label = f"engine.register() of activity {definition.name!r}"
    given = {
        "retry": opt.instance_or_none(label, "retry", retry, RetryPolicy),
        "timeout": opt.seconds_or_none(label, "timeout", timeout),
        "executor": None
        if executor is None
        else opt.choice(label, "executor", executor, EXECUTORS),
    }
    changes |= {name: value for name, value in given.items() if value is not None}
    if changes.get("executor", definition.executor) == "process":  # can workers import it?
        source = config.source if config and executor is None and "executor" in changes else None
        check_process_activity(definition.name, definition.fn, source)
    return dataclasses.replace(definition, **changes) if changes else definition
