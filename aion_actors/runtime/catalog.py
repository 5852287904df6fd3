"""The registered workflows and activities: the only names the engine will run.

Nothing read from the store or a worker pipe is ever imported or resolved
any other way; an unknown name at recovery leaves its run listed and parked.
"""

from __future__ import annotations

import threading
from typing import Any

from aion_actors.core import ConfigError
from aion_actors.runtime.definitions import ActivityDefinition, WorkflowDefinition


class Catalog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workflows: dict[str, WorkflowDefinition] = {}
        self._activities: dict[str, ActivityDefinition[Any, Any]] = {}

    def register(self, *definitions: WorkflowDefinition | ActivityDefinition[Any, Any]) -> None:
        with self._lock:
            for definition in definitions:
                if isinstance(definition, WorkflowDefinition):
                    self._workflows[definition.name] = definition
                elif isinstance(definition, ActivityDefinition):
                    self._activities[definition.name] = definition
                else:
                    raise ConfigError(
                        f"cannot register {definition!r}: decorate it with @workflow or @activity"
                    )

    def workflow(self, name: str) -> WorkflowDefinition | None:
        return self._workflows.get(name)

    def activity(self, name: str) -> ActivityDefinition[Any, Any] | None:
        return self._activities.get(name)

    def activities(self) -> list[ActivityDefinition[Any, Any]]:
        with self._lock:
            return list(self._activities.values())

    def workflow_names(self) -> list[str]:
        return sorted(self._workflows)
