"""Retention: which closed runs may be deleted, and the pruner thread that deletes them.

A workflow type's retention comes from, lowest precedence first: `[retention]
default` of the engine's `aion.toml`, its `[retention.<type>]` table, then the
`@workflow(retention=...)` decorator (as for restart policies, code that
insists keeps its setting). Nothing anywhere means "keep forever", so nothing
is deleted by surprise. A type not registered yet gets the file's retention.

The pruner never polls: it asks the store when the next closed run expires
(`next_expiry`) and sleeps until then on a condition, woken early by a
commit that closed a run which might expire sooner (the recorder tells it),
by a registration (which may shorten a retention) and by `close`. Each run
is deleted by the store in small transactions (`EventStore.delete_runs`), so
the recorder never waits long for the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aion_actors.config import Config
from aion_actors.core import EngineClosed, StoreUnavailable
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.clock import Clock
from aion_actors.runtime.service import Service
from aion_actors.store import EventStore, RunSummary
from supervisor import bounded

log = logging.getLogger("aion_actors.pruning")

#: runs listed per store read while pruning
BATCH = 64
#: when expired runs cannot be deleted (damaged entries: see `aion-actors doctor`), look
#: again this much later rather than at once
_STUCK_NS = 60_000_000_000


def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1e9)


class Retentions:
    """The retention of each workflow type, in ns (None: keep forever)."""

    def __init__(self, catalog: Catalog, config: Config | None) -> None:
        self._catalog = catalog
        self._config = config or Config()
        self._shortest: int | None = None
        self.registered()

    def of(self, workflow_type: str) -> int | None:
        definition = self._catalog.workflow(workflow_type)
        if definition is not None:
            return _ns(definition.retention)
        return _ns(self._config.retention_of(workflow_type))

    @property
    def shortest(self) -> int | None:
        """The shortest retention of any type (None: every type is kept forever)."""
        return self._shortest

    def registered(self) -> None:
        """Definitions were registered: their retentions may differ from the file's."""
        names = self._catalog.workflow_names()
        given = [self.of(name) for name in names]
        given += [
            _ns(s) for s in (self._config.default_retention, *self._config.retention.values())
        ]
        self._shortest = min((ns for ns in given if ns is not None), default=None)


class Pruner(Service):
    """One thread deleting closed runs whose retention has passed (see the module docstring)."""

    def __init__(self, store: EventStore, retentions: Retentions, clock: Clock) -> None:
        super().__init__("aion-pruner")
        self._store = store
        self._retentions = retentions
        self._clock = clock
        self._woken = False
        #: when the thread looks next (unix ns); None: not before it is woken; 0: looking now
        self._wake_at: int | None = 0
        #: a commit closed runs while the thread was looking (it may not have seen them)
        self._closed_meanwhile = False
        self._pruned = 0
        self._listeners: list[Callable[[RunSummary], None]] = []

    def when_pruned(self, callback: Callable[[RunSummary], None]) -> None:
        """Call `callback(run)` (in the pruner thread: be quick) after each deleted run."""
        self._listeners.append(callback)

    def stats(self) -> dict[str, int]:
        return {"runs_pruned": self._pruned}

    def wake(self) -> None:
        """Look again now (a registration may have shortened a retention)."""
        self._retentions.registered()
        with self._cond:
            self._woken = True
            self._cond.notify()

    def runs_closed(self) -> None:
        """A commit closed runs (called by the recorder's thread: quick, and mostly lock-free)."""
        shortest = self._retentions.shortest
        if shortest is None:
            return
        wake_at = self._wake_at
        if wake_at == 0:
            self._closed_meanwhile = True  # it caps its next sleep with this
            return
        if wake_at is not None and wake_at <= self._clock.now_ns() + shortest:
            return  # it looks again before these runs can expire
        with self._cond:
            self._woken = True
            self._cond.notify()

    def _serve(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                self._woken = False
                self._wake_at = 0
                self._closed_meanwhile = False
            began = self._clock.now_ns()
            try:  # the sleep too: whatever fails, the thread lives on and tries again
                self._sleep(began, self._prune(began))
            except StoreUnavailable as exc:  # (an outage: said by the store, no traceback)
                log.warning("the pruner cannot reach the store (%s); it tries again in 1 min", exc)
                self._sleep(began, began + _STUCK_NS)
            except EngineClosed:  # (a read of the closing engine gave an outage up)
                self._sleep(began, began + _STUCK_NS)  # until the close stops it
            except Exception:
                log.exception("the pruner failed; it tries again in a minute")
                self._sleep(began, began + _STUCK_NS)

    def _sleep(self, began: int, wake_at: int | None) -> None:
        """Wait until `wake_at` (None: until woken), a wake-up or `close`."""
        with self._cond:
            shortest = self._retentions.shortest
            if self._closed_meanwhile and shortest is not None:  # runs it may have missed
                wake_at = min(
                    wake_at if wake_at is not None else began + shortest, began + shortest
                )
            self._wake_at = wake_at
            while not (self._stopped or self._woken):
                now = self._clock.now_ns()
                if wake_at is not None and wake_at <= now:
                    break
                # a long retention's expiry may be centuries away: a day at a time
                self._cond.wait(bounded(None if wake_at is None else (wake_at - now) / 1e9))

    def _prune(self, now: int) -> int | None:
        """Delete every run expired by `now`; when to look again."""
        deleted = 0
        while True:
            expired = self._store.expired_runs(now, self._retentions.of, limit=BATCH)
            if self._stopped:
                return None
            done = self._store.delete_runs([(run.workflow_id, run.run_id) for run in expired])
            gone = [run for run, ok in zip(expired, done, strict=True) if ok]
            for run in gone:
                self._deleted(run)
            deleted += len(gone)
            if len(expired) < BATCH or not gone:
                break
        wake_at = self._store.next_expiry(self._retentions.of)
        if wake_at is not None and wake_at <= now and not deleted:
            log.warning(
                "closed runs are past their retention but cannot be deleted (a damaged run "
                "index entry? `aion-actors doctor DIR` says); looking again in a minute"
            )
            return now + _STUCK_NS
        return wake_at

    def _deleted(self, run: RunSummary) -> None:
        self._pruned += 1
        for callback in list(self._listeners):
            try:
                callback(run)
            except Exception:
                log.exception("a when_pruned callback raised; ignored")
