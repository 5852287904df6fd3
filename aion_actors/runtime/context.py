"""`WorkflowContext`: the only door from workflow code to the outside world.

Everything nondeterministic goes through it, so that replay sees the same
values: time is the recorded time of the event that last resumed the
workflow, randomness comes from a generator seeded by the run id, and every
side effect is a command the RunActor records before acting on it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import random as _random
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    PayloadConverter,
    QueryError,
    check_id,
)
from aion_actors.core import payloads as conv
from aion_actors.runtime import visibility
from aion_actors.runtime.commands import (
    ActivityCommand,
    ChildCommand,
    ConditionCommand,
    ContinueAsNew,
    GatherCommand,
    Measured,
    PartCommand,
    SignalCommand,
    TimerCommand,
    WaitFirstCommand,
    measure,
)
from aion_actors.runtime.timeouts import check_timeout, sleep_seconds, wait_seconds
from aion_actors.runtime.unawaited import Unawaited
from aion_actors.runtime.workflow_handles import ChildHandle, ExternalHandle, as_is

if TYPE_CHECKING:
    from aion_actors.runtime.definitions import ActivityDefinition, WorkflowDefinition
    from aion_actors.runtime.patches import CommandSequence
    from aion_actors.runtime.signals import SignalRouter
    from aion_actors.runtime.updates import UpdateRouter


class WorkflowContext:
    """Handed to every workflow as its first argument."""

    def __init__(
        self,
        workflow_id: str,
        run_id: str,
        started_at_ns: int,
        max_payload_bytes: int | None = MAX_PAYLOAD_BYTES,
        converter: PayloadConverter | None = None,
        *,
        signals: SignalRouter | None = None,
        patches: CommandSequence | None = None,
        updates: UpdateRouter | None = None,
        seed: str | None = None,
        unawaited: Unawaited | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self._signals = signals
        self._updates = updates
        self._patches = patches
        self.run_id = run_id
        #: the limit on continue-as-new arguments (None: history has them); the machine
        #: checks its commands' payloads (`runtime.payload_limit`)
        self.max_payload_bytes = max_payload_bytes
        self._converter = conv.active(converter)
        self._now_ns = started_at_ns
        self._seed = seed or run_id  # its Random is made when first drawn from: most never
        self._rng: _random.Random | None = None
        self._queries: dict[str, Callable[..., Any]] = {}
        self._in_query = False
        #: commands made, not awaited yet (the machine warns of them at the close)
        self._unawaited = unawaited or Unawaited()
        self._made = self._unawaited.made if self._unawaited.noting else as_is
        #: True while the run re-executes recorded history; False from the first event
        #: (or command) that was not in it — for logging once, never for deciding
        self.is_replaying = False

    # -- deterministic values

    def now(self) -> _dt.datetime:
        """The recorded time of the event that last woke this workflow (UTC)."""
        return _dt.datetime.fromtimestamp(self._now_ns / 1e9, tz=_dt.UTC)

    def random(self) -> float:
        return self._random().random()

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self._random().getrandbits(128), version=4)

    def _random(self) -> _random.Random:  # seeded by the run id; a reset run by its first's
        self._rng = self._rng or _random.Random(uuid.UUID(hex=self._seed).int)
        return self._rng

    # -- commands

    def activity(
        self,
        activity: ActivityDefinition[Any, Any] | str,
        *args: Any,
        timeout: float | _dt.timedelta | None = None,
    ) -> ActivityCommand:
        """Run an activity and wait for its result (or its final failure, raised).

        `timeout` bounds the whole activity, retries and their waits included,
        on a durable timer: past it the await raises `ActivityTimeout`.
        """
        self._no_commands_in_queries("activity")
        name = activity if isinstance(activity, str) else activity.name
        encoded, measured = measure(self._converter, list(args), f"{name}() arguments")
        command = ActivityCommand(
            name=name,
            args=tuple(encoded),
            timeout=wait_seconds(timeout, f"{name}() timeout"),
            returns=self._returns(activity),
            measured=measured,
        )
        return self._made(command)

    def sleep(self, duration: float | _dt.timedelta) -> TimerCommand:
        self._no_commands_in_queries("sleep")
        return self._made(TimerCommand(seconds=sleep_seconds(duration, "ctx.sleep() duration")))

    def wait_signal(
        self, name: str, *, timeout: float | _dt.timedelta | None = None
    ) -> SignalCommand:
        """Wait for the next signal `name`: the k-th call gets the k-th such signal.

        With a timeout, raises `SignalTimeout` when none arrives in time.
        """
        self._no_commands_in_queries("wait_signal")
        seconds = wait_seconds(timeout, f"wait_signal({name!r}) timeout")
        return self._made(SignalCommand(name=name, timeout=seconds))

    def child(
        self,
        workflow: WorkflowDefinition | str,
        *args: Any,
        workflow_id: str | None = None,
        on_parent_close: Literal["cancel", "abandon"] = "cancel",
        execution_timeout: float | None = None,
        run_timeout: float | None = None,
    ) -> ChildCommand:
        """Start a child workflow and wait for its result (or its failure, raised).

        Cancelling this workflow cancels the child too, unless
        `on_parent_close="abandon"`. The timeouts are `Engine.start`'s: past
        one, the child ends timed out and this await raises `ChildWorkflowError`.
        """
        self._no_commands_in_queries("child")
        execution_timeout = check_timeout(execution_timeout, "execution_timeout")
        run_timeout = check_timeout(run_timeout, "run_timeout")
        if on_parent_close not in ("cancel", "abandon"):
            raise ValueError(
                f"on_parent_close must be 'cancel' or 'abandon', got {on_parent_close!r}"
            )
        if workflow_id is not None:
            check_id(workflow_id, "child workflow_id")
        name = workflow if isinstance(workflow, str) else workflow.name
        encoded, measured = measure(self._converter, list(args), f"{name}() arguments")
        command = ChildCommand(
            name=name,
            args=tuple(encoded),
            workflow_id=workflow_id,
            on_parent_close=on_parent_close,
            returns=self._returns(workflow),
            execution_timeout=execution_timeout,
            run_timeout=run_timeout,
            measured=measured,
        )
        return self._made(command)

    def start_child(
        self,
        workflow: WorkflowDefinition | str,
        *args: Any,
        workflow_id: str | None = None,
        on_parent_close: Literal["cancel", "abandon"] = "cancel",
    ) -> ChildCommand:
        """Start a child workflow; resumes with a `ChildHandle` once it has started.

        `await handle.result()` waits for its outcome; `handle.signal(...)` and
        `handle.cancel()` reach it. The one-open-run rule holds as for
        `ctx.child`: an id with an open run raises `ChildWorkflowError` here.
        """
        command = self.child(
            workflow, *args, workflow_id=workflow_id, on_parent_close=on_parent_close
        )
        self._unawaited.awaited(command)  # (made again: the line that made it is the caller's)
        return self._made(dataclasses.replace(command, handle=True))

    def external(self, workflow_id: str, run_id: str | None = None) -> ExternalHandle:
        """A handle to another workflow: its open run, or the run `run_id`.

        `await ctx.external(id).signal(name, payload)` and `.cancel(reason)`
        are recorded here first and applied to the target exactly once; each
        resumes once the target has recorded it, or raises
        `ExternalWorkflowError` when it has no open run to take it.
        """
        self._no_commands_in_queries("external")
        check_id(workflow_id, "workflow_id")
        return ExternalHandle(workflow_id, run_id, self._check_one, self._made)

    def _child_handle(self, workflow_id: str, run_id: str, returns: Any) -> ChildHandle:
        return ChildHandle(workflow_id, run_id, self._check_one, self._made, returns)

    def _check_one(self, value: Any, what: str) -> tuple[Any, Measured]:
        self._no_commands_in_queries("external")
        return measure(self._converter, value, what)

    def gather(self, *commands: PartCommand, return_exceptions: bool = False) -> GatherCommand:
        """Run several commands concurrently; the results come back in order.

        As `asyncio.gather`: the first failure (in the order history recorded
        them) is raised at once, while the other commands go on and their
        outcomes are still recorded; with `return_exceptions=True` it waits for
        all and returns each failure in its place.
        """
        parts = self._unawaited.taken("gather", commands)  # (awaited with it)
        command = GatherCommand(parts, return_exceptions=return_exceptions)
        return self._made(command) if parts else command  # (nothing to await: returns at once)

    def wait_first(self, *commands: PartCommand) -> WaitFirstCommand:
        """Run several commands concurrently; resume with `(index, result)` of the first
        to end (in history's order), or raise its failure.

        The timers of the others (sleeps, signal and condition timeouts) are
        cancelled; their activities are asked to cancel as their `@activity(cancel=)`
        says (it resumes at once, waiting for none); their children go on, ended with
        the run as their `on_parent_close` says; late outcomes are recorded and unused,
        and a signal the others waited for stays for the next wait.
        """
        if not commands:  # (as `asyncio.wait`: nothing can end first)
            raise ValueError("ctx.wait_first needs at least one command to wait for")
        return self._made(WaitFirstCommand(self._unawaited.taken("wait_first", commands)))

    def wait_condition(
        self, predicate: Callable[[], object], *, timeout: float | _dt.timedelta | None = None
    ) -> ConditionCommand:
        """Wait until `predicate()` is true: checked where awaited, then after each
        signal a handler takes. With a timeout, raises `ConditionTimeout` when it
        is still false then. The predicate must only read workflow state.
        """
        self._no_commands_in_queries("wait_condition")
        if not callable(predicate):
            raise TypeError(f"ctx.wait_condition takes a function, got {predicate!r}")
        seconds = wait_seconds(timeout, "wait_condition() timeout")
        return self._made(ConditionCommand(predicate, seconds))

    # -- signal handlers

    def on_signal(self, name: str | None, handler: Callable[..., object] | None) -> None:
        """Call `handler(payload)` for each signal `name`, in the order history recorded
        them; `None` as the name sets a catch-all called `handler(name, payload)` for
        signals no named handler takes and no `wait_signal` is waiting on.

        Signals that arrived before the handler was set reach it now, in order;
        `handler=None` removes it. Handlers run between the workflow's steps and
        must not await; a handler that raises ends the run as if the workflow had.
        """
        self._no_commands_in_queries("on_signal")
        if self._signals is None:
            raise RuntimeError("ctx.on_signal works only in a running workflow")
        self._signals.set_handler(name, handler, self.workflow_id)

    def on_update(
        self,
        name: str,
        handler: Callable[[Any], Any] | None,
        *,
        validator: Callable[[Any], object] | None = None,
    ) -> None:
        """Run `handler(payload)` for each `engine.update(workflow_id, name, payload)` and
        return its result to the caller; `handler=None` removes it.

        `validator(payload)`, if given, runs first on the live run and must only read
        state: if it raises, the caller gets `UpdateRejected` and nothing is recorded.
        An accepted update is recorded (`UpdateAccepted`), then handled between the
        workflow's steps like a signal, and its result recorded (`UpdateCompleted`);
        a replay handles it again at the same place. An `async def` handler may await
        ctx commands: it runs beside the workflow's coroutine, resumed in history's
        order, and its result is recorded when it returns.
        """
        self._no_commands_in_queries("on_update")
        if self._updates is None:
            raise RuntimeError("ctx.on_update works only in a running workflow")
        self._updates.set_handler(name, handler, validator)

    def _validate_update(self, name: str, payload: Any) -> None:
        """Run update `name`'s validator as a query runs: reading state, recording nothing."""
        assert self._updates is not None
        self._in_query = True
        try:
            self._updates.validate(name, payload)
        finally:
            self._in_query = False

    # -- changing code with runs in flight

    def patched(self, patch_id: str) -> bool:
        """True where this run takes the code changed under `patch_id`, False where it
        replays a history from before the change: `if ctx.patched("charge-v2"): new
        else: old`. Live, the first call records `PatchApplied`; a replay answers as
        history says. The first answer holds for the rest of the run.
        """
        if self._patches is None:
            raise RuntimeError("ctx.patched works only in a running workflow")
        if self._in_query:  # a query may read a known answer, never record one
            if (answer := self._patches.answered(patch_id)) is not None:
                return answer
            self._no_commands_in_queries("patched")
        answer = self._patches.patched(patch_id, replaying=self.is_replaying)
        if self._patches.live:
            self.is_replaying = False
        return answer

    def deprecate_patch(self, patch_id: str) -> None:
        """Mark where `ctx.patched(patch_id)` was once the old branches are gone: histories
        that took the patch replay (their marker is passed over), nothing is recorded.
        Remove the call too once no run that took the patch can replay."""
        self._no_commands_in_queries("deprecate_patch")
        if self._patches is None:
            raise RuntimeError("ctx.deprecate_patch works only in a running workflow")
        self._patches.deprecate(patch_id)

    # -- what operators see

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        """Merge `attributes` into this run's search attributes (None deletes a name), for
        `engine.list_runs(attributes=...)`: recorded as `AttributesSet`, replayed as a command."""
        self._no_commands_in_queries("set_attributes")
        if self._patches is None:
            raise RuntimeError("ctx.set_attributes works only in a running workflow")
        visibility.set_attributes(self._patches, self.workflow_id, self.run_id, attributes)
        self.is_replaying = self.is_replaying and not self._patches.live

    def continue_as_new(self, *args: Any) -> NoReturn:
        """Close this run and start a fresh one (new run_id, empty history) with `args`."""
        self._no_commands_in_queries("continue_as_new")
        following, measured = measure(self._converter, list(args), "continue_as_new() arguments")
        if (error := measured.refused(self.max_payload_bytes)) is not None:
            raise error
        raise ContinueAsNew(tuple(following))

    def _returns(self, callee: ActivityDefinition[Any, Any] | WorkflowDefinition | str) -> Any:
        """The callee's return annotation when the converter needs it (a name has none)."""
        if self._converter is None or isinstance(callee, str):
            return None
        return callee.hints.returns

    # -- queries

    def on_query(self, name: str, handler: Callable[..., Any]) -> None:
        """Answer `engine.query(workflow_id, name, *args)` from the live run; never recorded.

        A handler that raises makes the query raise `QueryError` naming it, with
        the handler's exception as its `__cause__`; the run is not affected.
        """
        self._queries[name] = handler

    def _answer_query(self, name: str, args: tuple[Any, ...]) -> Any:
        handler = self._queries.get(name)
        if handler is None:
            known = ", ".join(sorted(self._queries)) or "none registered yet"
            raise QueryError(
                f"workflow {self.workflow_id!r} has no query {name!r}; known queries: {known}"
            )
        self._in_query = True
        try:
            return handler(*args)
        except QueryError:
            raise
        except Exception as exc:
            raise QueryError(
                f"query {name!r} of workflow {self.workflow_id!r} raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            self._in_query = False

    def _no_commands_in_queries(self, what: str) -> None:
        if self._in_query:
            raise QueryError(
                f"a query handler of workflow {self.workflow_id!r} called ctx.{what}(); "
                "queries must only read workflow state — nothing was recorded"
            )
