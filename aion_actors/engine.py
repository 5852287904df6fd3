"""`Engine`: the facade a service embeds.

It owns one data directory (the store's lock), the recorder, the executors
and the run manager, and turns user calls into durable requests: every call
that changes a run returns only once its event is committed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Unpack

from aion_actors import shutdown
from aion_actors.config import UNSET, Config, Unset
from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    EngineClosed,
    Event,
    WorkflowStatus,
    payloads,
)
from aion_actors.core.closing import CloseOnExit
from aion_actors.core.payloads import ConverterSpec
from aion_actors.handles import RunDescription, RunHandle
from aion_actors.opening import NodeOptions, data_dir_of, engine_options, node_options, open_store
from aion_actors.queues import EnqueueOptions, Queue
from aion_actors.runtime import client_calls
from aion_actors.runtime.clock import SYSTEM_CLOCK, Clock
from aion_actors.runtime.definitions import ActivityDefinition, RetryPolicy, WorkflowDefinition
from aion_actors.schedules import ScheduleHandle, ScheduleInfo, ScheduleOptions
from aion_actors.starting import StartOptions
from aion_actors.store import EventStore, RunFilters, RunPage, RunQuery
from aion_actors.web import DashboardOptions
from aion_actors.wiring import wire
from aion_actors.workers import check_not_in_worker_bootstrap
from supervisor import RestartPolicy


class Engine(CloseOnExit):
    """An embedded durable workflow engine on one data directory."""

    def __init__(
        self,
        store: EventStore,
        *,
        workers: int | None = None,
        threads: int = 32,
        start_method: str = "forkserver",
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        max_resident: int = 10_000,
        idle_evict_after: float | None = 30.0,
        config: Config | None = None,
        converter: ConverterSpec = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.max_payload_bytes = max_payload_bytes
        #: restart policies and activity settings from an `aion.toml` (see `register`).
        self.config = config
        #: turns values into payloads and back (see `aion_actors.core.converter`)
        self.converter, converter_path = payloads.resolve(converter)
        self._converter = payloads.active(self.converter)  # None: nothing to convert
        parts = wire(
            store,
            workers=workers,
            threads=threads,
            start_method=start_method,
            max_payload_bytes=max_payload_bytes,
            max_resident=max_resident,
            idle_evict_after=idle_evict_after,
            config=config,
            converter=self._converter,
            converter_path=converter_path,
            clock=clock,
        )
        self._runs, self._pruner = parts.runs, parts.pruner
        self._registration, self._lookup = parts.registration, parts.lookup
        self._completions, self._updates = parts.completions, parts.updates
        self._starter, self._ops, self._parts = parts.starter, parts.operations, parts
        self._closing = shutdown.Closing()
        self._in_turn = parts.runs.dispatcher.running_here  # (client calls refused there)
        shutdown.opened(self)
        try:
            parts.start()
        except BaseException:
            self.close()  # a failed open leaves no thread, actor or process behind
            raise

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        workers: int | None = None,
        durability: str | None = None,
        map_size: int | None = None,
        threads: int | None = None,
        start_method: str = "forkserver",
        max_payload_bytes: int | None = None,
        max_resident: int | None = None,
        idle_evict_after: float | Unset | None = UNSET,
        config: str | os.PathLike[str] | Config | None = None,
        converter: ConverterSpec = None,
        **node: Unpack[NodeOptions],
    ) -> Engine:
        """Open the store at `path` (a data directory or `postgresql://` URL), recover open runs.

        On Postgres the engine is a node (`node_id`, `lease`, `renew_every`). Idle runs
        leave memory after `idle_evict_after` seconds or past `max_resident`; anything
        addressed to them brings them back by replay. `config` (an `aion.toml` or a
        `Config`) supplies every option left out (defaults: a worker per CPU, durability
        "sync", 32 threads, max_resident 10 000, idle_evict_after 30 s) and the policies
        `register` applies; `converter` turns values into payloads and back (README).
        Raises `DataDirLocked` when another engine owns the directory."""
        check_not_in_worker_bootstrap("Engine.open")
        cfg = Config.coerce(config)
        settings = cfg.engine.override(
            workers=workers,
            durability=durability,
            map_size=map_size,
            threads=threads,
            max_payload_bytes=max_payload_bytes,
            max_resident=max_resident,
            idle_evict_after=idle_evict_after,
            **node_options(node, cls.open),
        )
        options = engine_options(settings)
        store = open_store(path, settings)
        try:
            return cls(store, **options, start_method=start_method, config=cfg, converter=converter)
        except BaseException:
            store.close()
            raise

    @classmethod
    def from_config(cls, config: str | os.PathLike[str] | Config, **overrides: Any) -> Engine:
        """Open the engine an `aion.toml` describes, on its `[engine] data_dir` (relative to
        the file) or `data_dir=`; keyword arguments override its `[engine]`."""
        cfg = Config.coerce(config)
        return cls.open(data_dir_of(cfg, overrides.pop("data_dir", None)), config=cfg, **overrides)

    # -- registration

    def register(
        self,
        *definitions: WorkflowDefinition | ActivityDefinition[Any, Any] | Queue,
        restart: RestartPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        executor: Literal["process", "thread"] | None = None,
        replace: bool = False,
    ) -> None:
        """Make workflows and activities runnable by name; wakes runs that waited for them.

        Each setting comes from, lowest precedence first: the config file, the decorator,
        these arguments (`restart` for the workflows given, the others for the activities).
        A name registered for another function raises `ConfigError`, unless `replace=True`
        says the new code takes over (open runs then replay with it).
        """
        self._check_open()
        rest = tuple(d for d in definitions if not isinstance(d, Queue))
        self._registration.register(rest, restart, retry, timeout, executor, replace)
        self._parts.queues.register([d for d in definitions if isinstance(d, Queue)])

    # -- changing runs

    def start(
        self,
        workflow: WorkflowDefinition | str,
        *args: Any,
        workflow_id: str | None = None,
        signal: tuple[str, Any] | None = None,
        **options: Unpack[StartOptions],
    ) -> RunHandle:
        """Start a run; returns once its `WorkflowStarted` is committed.

        An open run of `workflow_id` raises `WorkflowAlreadyStarted`, a closed one
        starts again, unless the policies (`if_open`, `if_closed`) say otherwise.
        `execution_timeout`/`run_timeout` (seconds) bound the chain/each run. With
        `signal=(name, payload)` it starts the run only if none is open, and delivers
        the signal either way; the handle names that run (README "Starting runs")."""
        self._check_open()
        key = self._starter.start(workflow, args, workflow_id, signal, options)
        return RunHandle(self, key.workflow_id, key.run_id)

    def start_many(
        self,
        workflow: WorkflowDefinition | str,
        inputs: Iterable[Sequence[Any]],
        *,
        workflow_ids: Iterable[str] | None = None,
        **options: Unpack[StartOptions],
    ) -> list[RunHandle]:
        """Start one run per item of `inputs` (each a run's positional arguments),
        each with the options given (see `start`).

        They share commits (one fsync, where a loop of `start` waits for one per run).
        Every input and id is checked first, and a bad one starts none; should the
        store fail part-way, the runs it committed start anyway and its error is raised.
        """
        self._check_open()
        keys = self._starter.start_many(workflow, inputs, workflow_ids, options)
        return [RunHandle(self, key.workflow_id, key.run_id) for key in keys]

    def enqueue(
        self,
        queue: Queue | str,
        workflow: WorkflowDefinition | str,
        *args: Any,
        workflow_id: str | None = None,
        **options: Unpack[EnqueueOptions],
    ) -> RunHandle:
        """Record a run queued in `queue` (a registered `Queue`); it runs once given a slot."""
        self._check_open()
        key = self._parts.queues.enqueue(queue, workflow, args, workflow_id, options)
        return RunHandle(self, *key)

    def signal(
        self, workflow_id: str, name: str, payload: Any = None, *, timeout: float = 30.0
    ) -> None:
        """Deliver signal `name` to the open run; returns once `SignalReceived` is committed.

        A parked run, or one whose workflow type is not registered yet, gets
        it recorded at once and applies it when it runs again.
        """
        self._check_open()
        payload = payloads.checked(self._converter, payload, "payload", self.max_payload_bytes)
        self._parts.calls.signal(workflow_id, name, payload, timeout)

    def cancel(self, workflow_id: str, reason: str = "", *, timeout: float = 30.0) -> None:
        """Ask the run to cancel: its current await raises `Cancelled`, so it can compensate."""
        self._check_open()
        self._parts.calls.cancel(workflow_id, reason, timeout)

    def terminate(self, workflow_id: str, reason: str = "", *, timeout: float = 30.0) -> None:
        """End the run at once, running no workflow code; in-flight results are dropped."""
        self._check_open()
        self._parts.calls.terminate(workflow_id, reason, timeout)

    def resume(self, workflow_id: str) -> None:
        """Replay a parked run with the code registered now."""
        self._check_open()
        self._parts.calls.resume(workflow_id)

    def pause(self, workflow_id: str, reason: str = "", *, timeout: float = 30.0) -> None:
        """Hold the open run's code until `unpause`; what reaches it is still recorded."""
        self._check_open()
        self._ops.pause(workflow_id, reason, timeout)

    def unpause(self, workflow_id: str, *, timeout: float = 30.0) -> None:
        """Let a paused run's code run on what was recorded meanwhile."""
        self._check_open()
        self._ops.unpause(workflow_id, timeout)

    def reset(
        self, workflow_id: str, to_seq: int, reason: str = "", *, timeout: float = 30.0
    ) -> RunHandle:
        """Close the latest run and go on in a new one from its history up to `to_seq`."""
        self._check_open()
        return RunHandle(self, workflow_id, self._ops.reset(workflow_id, to_seq, reason, timeout))

    def update(
        self,
        workflow_id: str,
        name: str,
        payload: Any = None,
        *,
        update_id: str | None = None,
        timeout: float = 30.0,
    ) -> Any:
        """Run update `name` (`ctx.on_update`) on the run; returns its handler's result."""
        self._check_open()
        return self._updates.update(workflow_id, name, payload, update_id, timeout)

    def complete_activity(self, token: str, result: Any = None, *, timeout: float = 30.0) -> None:
        """Close the attempt `token` names (it raised `CompleteLater`) with `result`."""
        self._check_open()
        self._completions.complete(token, result, timeout)

    def fail_activity(self, token: str, error: BaseException, *, timeout: float = 30.0) -> None:
        """Fail that attempt with `error`; it is retried per the activity's `RetryPolicy`."""
        self._check_open()
        self._completions.fail(token, error, timeout)

    def schedule(
        self,
        name: str,
        workflow: WorkflowDefinition | str,
        args: Sequence[Any] = (),
        **options: Unpack[ScheduleOptions],
    ) -> ScheduleHandle:
        """Create the durable schedule `name`, or update it (README "Schedules")."""
        self._check_open()
        return self._parts.schedules.schedule(name, workflow, args, options, self)

    def get_schedule(self, name: str) -> ScheduleHandle:
        """The schedule `name`; `ScheduleNotFound` if there is none (or it was deleted)."""
        return self._parts.schedules.get(name, self)

    def list_schedules(self) -> list[ScheduleInfo]:
        """Every schedule not deleted, by name: spec, next fire, paused, last run."""
        return self._parts.schedules.list()

    # -- reading runs

    def query(self, workflow_id: str, name: str, *args: Any, timeout: float = 10.0) -> Any:
        """Ask the run's query handler `name`; never recorded.

        An open run answers from its live state (an evicted one is brought
        back; one another node holds, on that node); a closed or parked one
        from its history, replayed read-only."""
        self._check_open()
        return self._parts.calls.query(workflow_id, name, args, timeout)

    def result(
        self,
        workflow_id: str,
        run_id: str | None = None,
        *,
        timeout: float | None = None,
        raise_on_park: bool = True,
    ) -> Any:
        """Wait for the run's result, following continue-as-new to the last run.

        Raises `WorkflowFailed` (carrying the recorded error; `WorkflowCancelled`
        for a cancelled run, `WorkflowTimedOut` for a timed-out one) if it ends
        any other way than completed, `WorkflowParked` while it is parked (unless
        `raise_on_park=False`: then it waits for a resume), and `TimeoutError`
        after `timeout` seconds.
        """
        client_calls.check(self._in_turn, 1)
        return self._parts.calls.result(workflow_id, run_id, timeout, raise_on_park)

    def when_closed(
        self, workflow_id: str, callback: Callable[[], None], *, run_id: str | None = None
    ) -> None:
        """Call `callback()` once the run (and any continue-as-new successor) has ended: in
        an engine thread (it must be quick), at once if it has. `result()` tells how."""
        client_calls.check(self._in_turn, 1)
        self._runs.when_closed(self._lookup.latest_key(workflow_id, run_id), callback)

    def describe(self, workflow_id: str) -> RunDescription:
        """The latest run of `workflow_id`: its status, where it lives, how it ended."""
        return self._lookup.describe(workflow_id)

    def history(self, workflow_id: str, run_id: str | None = None) -> list[Event]:
        """The events of the latest run (or of `run_id`), in order."""
        return self._lookup.history(workflow_id, run_id)

    def list_runs(
        self,
        status: WorkflowStatus | str | None = None,
        workflow_type: str | None = None,
        **filters: Unpack[RunFilters],
    ) -> RunPage:
        """The runs the store holds that match, newest first, a page at a time (see README)."""
        return self.store.search(RunQuery.asked(status, workflow_type, filters))

    def stats(self) -> dict[str, int]:
        """Counters for progress displays: crashes, restarts, resident runs, pruned runs."""
        return self._parts.stats()

    def dashboard_app(self, **options: Unpack[DashboardOptions]) -> Any:
        """The live dashboard as an ASGI app to mount (see README "The dashboard")."""
        from aion_actors.web import engine_dashboard  # the optional web extra

        return engine_dashboard(self, **options)

    # -- lifecycle

    def close(self, *, drain: float = 0.0) -> None:
        """Stop every actor, thread and worker process, then close the store. Idempotent.

        `drain`: first wait up to that many seconds for the activity attempts running now
        to finish and their outcomes to be recorded, starting no new attempt (a run's next
        one, and one queued for a busy worker or thread, waits for the next engine, recorded
        as scheduled). New calls are refused.
        A second call waits until the first has finished. From a run's turn (or a done
        callback called there) it closes in a thread of its own and returns at once; from
        one of the engine's activities it raises `RuntimeError`, and the engine stays open.
        From a signal handler amid a store read, the store closes as that read ends."""
        if not self._closing.started:
            drain = shutdown.check_drain(drain)
        self._closing.run(self, self._parts.inside(), functools.partial(self._close, drain))

    def _close(self, drain: float) -> None:
        shutdown.closed(self)
        shutdown.drained(self, self._parts.close(drain), drain)
        self.store.close()

    def __repr__(self) -> str:
        where = getattr(self.store, "path", None) or type(self.store).__name__
        return f"<Engine on {where}{' (closed)' if self._closing.started else ''}>"

    def _check_open(self) -> None:  # (and not called from workflow code: `client_calls`)
        if self._closing.started:
            raise EngineClosed()
        client_calls.check(self._in_turn)
