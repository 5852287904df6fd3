"""`Registration`: what an engine runs, by name, configured as the config file, the
decorators and `register` say — and what waited for it, woken.

Each setting comes from, lowest precedence first: the engine's config file,
what a decorator set explicitly, then the arguments of `register`. Tables of
the config file that name nothing registered are reported once the service
has registered what it runs (at its first start): they are likely typos.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

from aion_actors.config import Config, configure
from aion_actors.config.names import closest
from aion_actors.core import ConfigError, OperationRefused, RunKey, WorkflowStatus
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.definitions import ActivityDefinition, RetryPolicy, WorkflowDefinition
from aion_actors.runtime.runs import RunManager
from aion_actors.store import RunSummary
from supervisor import RestartPolicy

log = logging.getLogger("aion_actors")

Definition = WorkflowDefinition | ActivityDefinition[Any, Any]


class Registration:
    def __init__(
        self,
        catalog: Catalog,
        config: Config | None,
        runs: RunManager,
        registered: Callable[[], None] = lambda: None,
    ) -> None:
        self._catalog = catalog
        self._config = config
        self._runs = runs
        #: told after each registration (the pruner: a retention may have changed)
        self._registered = registered
        #: whether the config file's tables were checked against what is registered
        self._names_checked = False

    def register(
        self,
        definitions: Sequence[Definition],
        restart: RestartPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        executor: Literal["process", "thread"] | None = None,
        replace: bool = False,
    ) -> None:
        configured = [
            configure(
                d, self._config, restart=restart, retry=retry, timeout=timeout, executor=executor
            )
            for d in definitions
        ]
        self._catalog.register(*configured, replace=replace)
        self._registered()
        self._runs.registered(
            [d.name for d in configured if isinstance(d, WorkflowDefinition)],
            [d.name for d in configured if isinstance(d, ActivityDefinition)],
        )

    def resume(self, run: RunSummary) -> None:
        """Replay parked `run` with the code registered now; `OperationRefused` (nothing
        done) naming its real state if it is not parked, a resume under way included."""
        key = RunKey(run.workflow_id, run.run_id)
        if run.status == WorkflowStatus.PARKED and self._runs.resume(key):
            return
        state = run.status.value
        if (
            run.status == WorkflowStatus.PARKED
            and self._runs.open_run(key.workflow_id) == key.run_id
        ):
            state = "being resumed already (its replay is under way)"
        raise OperationRefused(
            f"workflow {run.workflow_id!r} (run {run.run_id}) is {state}, not parked; "
            "only parked runs can be resumed; nothing was done"
        )

    def workflow(self, workflow: WorkflowDefinition | str) -> WorkflowDefinition:
        """The registered definition to start (a definition not registered yet is, now)."""
        if isinstance(workflow, WorkflowDefinition):
            registered = self._catalog.workflow(workflow.name)
            if registered is None or registered.fn is not workflow.fn:
                self.register([workflow])
            workflow = workflow.name
        definition = self._catalog.workflow(workflow)
        if definition is None:
            names = self._catalog.workflow_names()
            close = closest(workflow, names) if isinstance(workflow, str) else None
            known = (f"did you mean {close!r}? " if close else "") + "registered: "
            raise ConfigError(
                f"workflow type {workflow!r} is not registered ({known}"
                f"{', '.join(names) or 'none'}); call engine.register() with it first"
            )
        if not self._names_checked:  # registration is complete by the first start
            self._names_checked = True
            self._warn_unknown_names()
        return definition

    def _warn_unknown_names(self) -> None:
        if self._config is None:
            return
        workflows, activities = self._catalog.workflow_names(), self._catalog.activity_names()
        for problem in self._config.unknown_names(workflows, activities):
            log.warning("%s", problem)
