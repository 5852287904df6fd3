"""The registered workflows and activities: the only names the engine will run.

Nothing read from the store or a worker pipe is ever imported or resolved
any other way; an unknown name at recovery leaves its run listed and parked.
"""

from __future__ import annotations

import threading
from typing import Any

from aion_actors.core import ConfigError
from aion_actors.runtime.definitions import ActivityDefinition, RetryPolicy, WorkflowDefinition


class Catalog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workflows: dict[str, WorkflowDefinition] = {}
        self._activities: dict[str, ActivityDefinition[Any, Any]] = {}

    def register(
        self,
        *definitions: WorkflowDefinition | ActivityDefinition[Any, Any],
        replace: bool = False,
    ) -> None:
        """Add definitions by name; all or none.

        A name already taken by another function raises `ConfigError` naming
        both (open runs would replay with the other code), unless `replace`.
        The very same function registered again just takes its new settings.
        """
        with self._lock:
            workflows, activities = dict(self._workflows), dict(self._activities)
            for definition in definitions:
                if isinstance(definition, WorkflowDefinition):
                    _check_free(workflows.get(definition.name), definition, "workflow", replace)
                    workflows[definition.name] = definition
                elif isinstance(definition, ActivityDefinition):
                    _check_free(activities.get(definition.name), definition, "activity", replace)
                    activities[definition.name] = definition
                else:
                    raise ConfigError(
                        f"cannot register {definition!r}: decorate it with @workflow or @activity"
                    )
            self._workflows, self._activities = workflows, activities

    def workflow(self, name: str) -> WorkflowDefinition | None:
        return self._workflows.get(name)

    def activity(self, name: str) -> ActivityDefinition[Any, Any] | None:
        return self._activities.get(name)

    def retry_policy(self, activity: str) -> RetryPolicy | None:
        """The retry policy of activity `activity`; None while it is not registered."""
        definition = self._activities.get(activity)
        return definition.retry if definition is not None else None

    def activities(self) -> list[ActivityDefinition[Any, Any]]:
        with self._lock:
            return list(self._activities.values())

    def workflow_names(self) -> list[str]:
        return sorted(self._workflows)

    def activity_names(self) -> list[str]:
        return sorted(self._activities)


def _check_free(
    taken: WorkflowDefinition | ActivityDefinition[Any, Any] | None,
    definition: WorkflowDefinition | ActivityDefinition[Any, Any],
    kind: str,
    replace: bool,
) -> None:
    if taken is not None and taken.fn is not definition.fn and not replace:
        raise ConfigError(
            f"{kind} name {definition.name!r} is taken by {_where(taken.fn)}; "
            f"{_where(definition.fn)} cannot be registered under it too. Give one "
            f"of them another name (@{kind}(name=...)), or pass replace=True to "
            "run the new code from now on (open runs replay with it)"
        )


def _where(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
