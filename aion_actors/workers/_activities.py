"""Which of a pool's activities its workers can run: one bad activity never stops the others.

An activity is unavailable when its import path cannot resolve in the
engine process, when resolving it raises in a worker process, or when its
module kills `SAME_FAILURE_LIMIT` worker processes in a row as they import
it. Its attempts then fail at once with `ActivityUnavailable` naming it and
why (never retried); workers start without it and run the other activities.
Only the pool's dispatcher thread (and its constructor) touch this table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aion_actors.core import error_info
from aion_actors.workers._imports import resolve_problem
from aion_actors.workers._restarts import SAME_FAILURE_LIMIT
from aion_actors.workers.errors import ActivityUnavailable
from aion_actors.workers.task import Outcome

log = logging.getLogger("aion_actors.workers")

_FIX_MODULE = (
    "make its module import cleanly in a fresh process (workers get the engine's sys.path), "
    'or run it with executor="thread"'
)


class ActivityTable:
    def __init__(self, activities: Mapping[str, str]) -> None:
        self.paths = dict(activities)
        self._failed: dict[str, Outcome] = {}
        self._deaths: dict[str, int] = {}  # module -> workers it killed in a row
        for name, path in self.paths.items():
            problem = resolve_problem(name, path)
            if problem is not None:
                self._mark(name, error_info(problem))

    def runnable(self) -> dict[str, str]:
        """What a new worker should resolve: every activity not known to be unavailable."""
        return {name: path for name, path in self.paths.items() if name not in self._failed}

    def preload(self) -> list[str]:
        """The modules a forkserver may import ahead of the workers (never a main script)."""
        modules = {path.partition(":")[0] for path in self.runnable().values()}
        return sorted(modules - {"__main__"})

    def failure(self, name: str) -> Outcome | None:
        """The outcome every attempt of `name` gets, if it cannot run."""
        return self._failed.get(name)

    def failed_in_worker(self, failed: Mapping[str, Any]) -> list[str]:
        """A worker's READY report `{name: [detail, traceback]}`; returns the names new to it."""
        fresh = [name for name in failed if name in self.paths and name not in self._failed]
        for name in fresh:
            detail, trace = failed[name]
            self._mark(
                name, error_info(ActivityUnavailable(name, detail, _FIX_MODULE), traceback=trace)
            )
        return fresh

    def module_killed(self, module: str, detail: str) -> list[str]:
        """A worker died importing `module`; after a few in a row its activities are given up."""
        self._deaths[module] = deaths = self._deaths.get(module, 0) + 1
        if deaths < SAME_FAILURE_LIMIT:
            return []
        names = [n for n, p in self.runnable().items() if p.partition(":")[0] == module]
        reason = f"{detail} ({deaths} in a row)"
        for name in names:
            self._mark(name, error_info(ActivityUnavailable(name, reason, _FIX_MODULE)))
        return names

    def ready(self) -> None:
        """A worker imported everything it was given: earlier deaths were not in a row."""
        self._deaths.clear()

    def _mark(self, name: str, error: dict[str, Any]) -> None:
        self._failed[name] = Outcome(ok=False, error=error)
        log.warning("%s", error["message"])
