"""`Engine`: the facade a service embeds.

It owns one data directory (the store's lock), the recorder, the executors
and the run manager, and turns user calls into durable requests: every call
that changes a run returns only once its event is committed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import pykka

from aion_actors.config import UNSET, Config, Unset, configure
from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    ConfigError,
    EngineClosed,
    Event,
    QueryError,
    WorkflowClosed,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowStatus,
    check_payload,
    payloads,
)
from aion_actors.core import events as ev
from aion_actors.core.payloads import ConverterSpec
from aion_actors.handles import RunDescription, RunHandle
from aion_actors.runtime import messages as msg
from aion_actors.runtime.actor import RunEvicted
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.definitions import ActivityDefinition, RetryPolicy, WorkflowDefinition
from aion_actors.runtime.executors import Executors
from aion_actors.runtime.runs import RunManager
from aion_actors.runtime.starts import new_runs
from aion_actors.store import EventStore, LmdbStore, Recorder, RunSummary
from supervisor import Outcome, Residency, RestartPolicy


class Engine:
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
    ) -> None:
        _check_options(
            workers=workers,
            threads=threads,
            max_payload_bytes=max_payload_bytes,
            max_resident=max_resident,
            idle_evict_after=idle_evict_after,
        )
        self.store = store
        self.max_payload_bytes = max_payload_bytes
        #: restart policies and activity settings from an `aion.toml` (see `register`).
        self.config = config
        #: turns values into payloads and back (see `aion_actors.core.converter`)
        self.converter, converter_path = payloads.resolve(converter)
        self._converter = payloads.active(self.converter)  # None: nothing to convert
        self._catalog = Catalog()
        self._recorder = Recorder(store)
        self._executors = Executors(
            self._catalog,
            workers=workers,
            threads=threads,
            start_method=start_method,
            max_result_bytes=max_payload_bytes,
            converter=self._converter,
            converter_path=converter_path,
        )
        self._runs = RunManager(
            store,
            self._recorder,
            self._catalog,
            self._executors,
            max_resident=max_resident,
            idle_evict_after=idle_evict_after,
            max_payload_bytes=max_payload_bytes,
            converter=self._converter,
        )
        self._closed = False
        try:
            self._runs.recover()
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
    ) -> Engine:
        """Open (creating if needed) the data directory at `path` and recover its open runs.

        Idle runs (waiting only on timers, signals or children) leave memory
        after `idle_evict_after` seconds, or as soon as more than
        `max_resident` runs are resident; anything addressed to them brings
        them back by replay. Raises `DataDirLocked` when another engine owns
        the directory.

        `config` (an `aion.toml` path or a `Config`) supplies every option
        left out here — defaults: one worker per CPU, durability "sync",
        32 threads, max_resident 10 000, idle_evict_after 30 s — and the
        restart policies and activity settings `register` applies.

        `converter` turns values into payloads and back: `TypedConverter()`
        for dataclasses, pydantic models and tuples rebuilt from annotations,
        or a `PayloadConverter` of your own (an instance, a class, or its
        `"module:qualname"`); by default payloads are msgpack values as they are.
        """
        cfg = Config.coerce(config)
        settings = cfg.engine.override(
            workers=workers,
            durability=durability,
            map_size=map_size,
            threads=threads,
            max_payload_bytes=max_payload_bytes,
            max_resident=max_resident,
            idle_evict_after=idle_evict_after,
        )
        _check_options(
            workers=settings.workers,
            threads=settings.threads,
            max_payload_bytes=settings.max_payload_bytes,
            max_resident=settings.max_resident,
            idle_evict_after=settings.idle_evict_after,
        )
        options: dict[str, Any] = {"durability": settings.durability}
        if settings.map_size is not None:
            options["map_size"] = settings.map_size
        store = LmdbStore(Path(path), **options)
        try:
            return cls(
                store,
                workers=settings.workers,
                threads=settings.threads,
                start_method=start_method,
                max_payload_bytes=settings.max_payload_bytes,
                max_resident=settings.max_resident,
                idle_evict_after=settings.idle_evict_after,
                config=cfg,
                converter=converter,
            )
        except BaseException:
            store.close()
            raise

    @classmethod
    def from_config(cls, config: str | os.PathLike[str] | Config, **overrides: Any) -> Engine:
        """Open the engine an `aion.toml` describes; keyword arguments override its `[engine]`.

        The data directory is `[engine] data_dir` (relative to the file), or
        the `data_dir=` argument.
        """
        cfg = Config.coerce(config)
        data_dir = overrides.pop("data_dir", None) or cfg.engine.data_dir
        if data_dir is None:
            raise ConfigError(
                f"{cfg.source}: [engine] data_dir is not set; set it in the file "
                "or pass data_dir= to Engine.from_config"
            )
        return cls.open(data_dir, config=cfg, **overrides)

    # -- registration

    def register(
        self,
        *definitions: WorkflowDefinition | ActivityDefinition[Any, Any],
        restart: RestartPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        executor: Literal["process", "thread"] | None = None,
    ) -> None:
        """Make workflows and activities runnable by name; wakes runs that waited for them.

        Each setting comes from, lowest precedence first: the engine's
        config file, the decorator, then these arguments (`restart` applies
        to the workflows given, the others to the activities given).
        """
        self._check_open()
        self._catalog.register(
            *(
                configure(
                    d, self.config, restart=restart, retry=retry, timeout=timeout, executor=executor
                )
                for d in definitions
            )
        )
        self._runs.registered([d.name for d in definitions])

    # -- changing runs

    def start(
        self,
        workflow: WorkflowDefinition | str,
        *args: Any,
        workflow_id: str | None = None,
    ) -> RunHandle:
        """Start a run; returns once its `WorkflowStarted` is committed.

        Raises `WorkflowAlreadyStarted` if `workflow_id` has an open run.
        """
        ids = None if workflow_id is None else [workflow_id]
        [handle] = self.start_many(workflow, [args], workflow_ids=ids)
        return handle

    def start_many(
        self,
        workflow: WorkflowDefinition | str,
        inputs: Iterable[Sequence[Any]],
        *,
        workflow_ids: Iterable[str] | None = None,
    ) -> list[RunHandle]:
        """Start one run per item of `inputs` (each a run's positional arguments).

        Their `WorkflowStarted`s share commits, so this waits for one fsync
        where a loop of `start` waits for one per run. Every input and id is
        checked first: a bad one, or a workflow_id that is open or given twice,
        raises (`PayloadError`, `WorkflowAlreadyStarted`) and starts none.
        Should the store fail part-way, the runs it committed start anyway
        and its error is raised.
        """
        self._check_open()
        definition = self._workflow(workflow)
        inputs = payloads.encode_inputs(self._converter, inputs)
        new = new_runs(inputs, workflow_ids, self.max_payload_bytes)
        outcomes = self._runs.create_many(definition, new, refuse_open=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return [RunHandle(self, run.workflow_id, run.run_id) for run in new]

    def signal(
        self, workflow_id: str, name: str, payload: Any = None, *, timeout: float = 30.0
    ) -> None:
        """Deliver signal `name` to the open run; returns once `SignalReceived` is committed."""
        self._check_open()
        payload = payloads.encode(self._converter, payload, "payload")
        check_payload(payload, "payload", max_bytes=self.max_payload_bytes)
        run_id = self._open_run(workflow_id, f"signal {name!r}")
        handle = self._runs.registry.get((workflow_id, run_id))
        if handle is not None and handle.residency == Residency.PARKED:
            head = self._recorder.head(workflow_id, run_id)
            event = ev.SignalReceived(name=name, payload=payload)
            self._recorder.append(workflow_id, run_id, [event], head)
            return
        self._runs.request(workflow_id, run_id, lambda ack: msg.Signal(name, payload, ack), timeout)

    def cancel(self, workflow_id: str, reason: str = "", *, timeout: float = 30.0) -> None:
        """Ask the run to cancel: its current await raises `Cancelled`, so it can compensate."""
        self._check_open()
        run_id = self._open_run(workflow_id, "cancel")
        self._runs.request(workflow_id, run_id, lambda ack: msg.CancelRequest(reason, ack), timeout)

    def terminate(self, workflow_id: str, reason: str = "", *, timeout: float = 30.0) -> None:
        """End the run at once, running no workflow code; in-flight results are dropped."""
        self._check_open()
        run_id = self._open_run(workflow_id, "terminate")
        if self._runs.terminate_idle(workflow_id, run_id, reason):
            return
        self._runs.request(
            workflow_id, run_id, lambda ack: msg.TerminateRequest(reason, ack), timeout
        )

    def resume(self, workflow_id: str) -> None:
        """Replay a parked run with the code registered now."""
        self._check_open()
        run = self._latest(workflow_id)
        if run.status != WorkflowStatus.PARKED:
            raise ConfigError(
                f"workflow {workflow_id!r} (run {run.run_id}) is {run.status.value}, not parked; "
                "only parked runs can be resumed"
            )
        self._runs.resume(workflow_id, run.run_id, run.workflow_type, run.version)

    # -- reading runs

    def query(self, workflow_id: str, name: str, *args: Any, timeout: float = 10.0) -> Any:
        """Ask the live run's query handler; never recorded (an evicted run is rehydrated)."""
        self._check_open()
        run_id = self._open_run(workflow_id, f"query {name!r}")
        ref = self._runs.actor(workflow_id, run_id)
        if ref is None:
            raise QueryError(
                f"workflow {workflow_id!r} (run {run_id}) has no live actor to answer "
                f"query {name!r} (it is parked or restarting); try again later"
            )
        for _ in range(3):
            try:
                return ref.ask(msg.Query(name, tuple(args)), timeout=timeout)
            except (pykka.ActorDeadError, RunEvicted):
                ref = self._runs.actor(workflow_id, run_id)
                if ref is None:
                    break
        raise QueryError(
            f"workflow {workflow_id!r} (run {run_id}) stopped before answering {name!r}; ask again"
        )

    def result(
        self, workflow_id: str, run_id: str | None = None, *, timeout: float | None = None
    ) -> Any:
        """Wait for the run's result, following continue-as-new to the last run.

        Raises `WorkflowFailed` (carrying the recorded error) if it ends any
        other way than completed, and `TimeoutError` after `timeout` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        run = self.store.get_run(workflow_id, run_id) if run_id else self._latest(workflow_id)
        if run is None:
            raise WorkflowNotFound(workflow_id, run_id)
        while True:
            if run.status.is_terminal:
                closing = _closing_event(self.store.read(run.workflow_id, run.run_id))
                if isinstance(closing, ev.WorkflowContinuedAsNew):
                    following = self.store.get_run(workflow_id, closing.next_run_id)
                    if following is not None:
                        run = following
                        continue
                elif isinstance(closing, ev.WorkflowCompleted):
                    workflow = self._catalog.workflow(run.workflow_type)
                    return payloads.typed_result(self._converter, workflow, closing.result)
                else:
                    error = getattr(closing, "error", None) or {
                        "type": type(closing).__name__,
                        "message": getattr(closing, "reason", "") or run.status.value,
                    }
                    raise WorkflowFailed(workflow_id, run.run_id, run.status.value, error)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(
                    f"workflow {workflow_id!r} did not finish within {timeout} s "
                    f"(run {run.run_id} is {run.status.value})"
                )
            handle = self._runs.registry.get((workflow_id, run.run_id))
            wait = 0.05 if remaining is None else min(0.05, remaining)
            if handle is not None:
                wait = 0.5 if remaining is None else min(0.5, remaining)
                with contextlib.suppress(TimeoutError):
                    handle.completion.wait(wait)
            else:
                time.sleep(wait)
            latest = self.store.get_run(workflow_id, run.run_id)
            assert latest is not None
            run = latest

    def describe(self, workflow_id: str) -> RunDescription:
        run = self._latest(workflow_id)
        handle = self._runs.registry.get((workflow_id, run.run_id))
        definition = self._catalog.workflow(run.workflow_type)
        # The projection wins over the cached handle, which may lag a moment.
        if run.status == WorkflowStatus.PARKED:
            residency, pid = "parked", None
        elif handle is None or run.status.is_terminal:
            residency, pid = "evicted", None
        else:
            residency, pid = str(handle.residency), handle.pid
        return RunDescription(
            workflow_id=workflow_id,
            run_id=run.run_id,
            workflow_type=run.workflow_type,
            status=run.status,
            pid=pid if residency == "resident" else None,
            residency=residency,
            restarts=run.restarts,
            version=run.version,
            registered_version=definition.version if definition else None,
            started_at=run.started_at,
            ended_at=run.ended_at,
            waiting_for=self._runs.waiting_for(workflow_id, run.run_id),
        )

    def history(self, workflow_id: str, run_id: str | None = None) -> list[Event]:
        """The events of the latest run (or of `run_id`), in order."""
        run_id = run_id or self._latest(workflow_id).run_id
        events = self.store.read(workflow_id, run_id)
        if not events:
            raise WorkflowNotFound(workflow_id, run_id)
        return events

    def list_runs(
        self, status: WorkflowStatus | None = None, workflow_type: str | None = None
    ) -> list[RunSummary]:
        return self.store.runs(status=status, workflow_type=workflow_type)

    def stats(self) -> dict[str, int]:
        """Counters for progress displays: crashes, restarts, worker crashes, resident runs."""
        resident = sum(1 for h in self._runs.registry.list() if h.residency == Residency.RESIDENT)
        return {**self._runs.counters, **self._executors.stats(), "resident": resident}

    # -- lifecycle

    def close(self) -> None:
        """Stop every actor, thread and worker process, then close the store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._runs.close()
        self._executors.close()
        self._recorder.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers

    def _when_closed(self, workflow_id: str, run_id: str, callback: Callable[[], None]) -> None:
        handle = self._runs.registry.get((workflow_id, run_id))
        if handle is None:
            callback()
            return

        def closed(outcome: Outcome[Any]) -> None:
            if isinstance(outcome.value, ev.WorkflowContinuedAsNew):
                self._when_closed(workflow_id, outcome.value.next_run_id, callback)
            else:
                callback()

        handle.completion.subscribe(closed)

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosed()

    def _workflow(self, workflow: WorkflowDefinition | str) -> WorkflowDefinition:
        if isinstance(workflow, WorkflowDefinition):
            registered = self._catalog.workflow(workflow.name)
            if registered is None or registered.fn is not workflow.fn:
                self.register(workflow)
            workflow = workflow.name
        definition = self._catalog.workflow(workflow)
        if definition is None:
            known = ", ".join(self._catalog.workflow_names()) or "none"
            raise ConfigError(
                f"workflow type {workflow!r} is not registered (registered: {known}); "
                "call engine.register() with it first"
            )
        return definition

    def _latest(self, workflow_id: str) -> RunSummary:
        run = self.store.latest_run(workflow_id)
        if run is None:
            raise WorkflowNotFound(workflow_id)
        return run

    def _open_run(self, workflow_id: str, what: str) -> str:
        run_id = self._runs.open_run(workflow_id)
        if run_id is None:
            run = self._latest(workflow_id)
            raise WorkflowClosed(workflow_id, run.run_id, run.status.value, what)
        return run_id


def _check_options(**options: object) -> None:
    """Refuse nonsensical engine options before anything is created (None: the default)."""
    for name, value in options.items():
        if value is None:
            continue
        seconds = name == "idle_evict_after"
        kinds = (int, float) if seconds else (int,)
        low = 0 if seconds else 1
        if isinstance(value, bool) or not isinstance(value, kinds) or value < low:
            wanted = "a number of seconds >= 0, or None for never" if seconds else "an integer >= 1"
            raise ConfigError(f"Engine option {name}={value!r} is invalid: expected {wanted}")


def _closing_event(history: list[Event]) -> Event | None:
    for event in reversed(history):
        if event.lifecycle and not isinstance(event, (ev.WorkflowStarted, ev.RunResumed)):
            return event
    return None
