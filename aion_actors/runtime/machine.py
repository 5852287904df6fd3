"""The replay driver: runs a workflow coroutine against its history.

The same code path serves a live run and a replay. The coroutine is resumed
only with outcomes found in committed history; each command it issues is
either matched against the command history recorded at that position
(replay: nothing is executed again) or returned as a new event to record
(live). Which of several racing outcomes wins an await — a signal or its
timeout, a result or a cancellation — is decided by their order in history,
so a replay always takes the branch the live run took. Signals and updates
bound for handlers are delivered in that order too, between the coroutine's
steps, and conditions are re-checked after each.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    ConfigError,
    PayloadConverter,
    PayloadError,
    WorkflowError,
)
from aion_actors.core import events as ev
from aion_actors.core import payloads as conv
from aion_actors.runtime import entry, foreign
from aion_actors.runtime.activity_cancel import ActivityCancels
from aion_actors.runtime.commands import (
    Cancelled,
    ChildResultCommand,
    ConditionCommand,
    PartCommand,
    SignalCommand,
)
from aion_actors.runtime.context import WorkflowContext
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.issuing import command_event, records
from aion_actors.runtime.mismatch import ReplayEdge
from aion_actors.runtime.parts import Part, PartResolver, Resolution
from aion_actors.runtime.patches import CommandSequence, diverged
from aion_actors.runtime.payload_limit import PayloadLimit
from aion_actors.runtime.recorded import Outcomes, Recorded, recorded_command
from aion_actors.runtime.signals import SignalRouter
from aion_actors.runtime.tasks import (
    NEVER,
    Step,
    Task,
    WaitTimers,
    awaited,
    done_seq,
    lone_activity,
    outcome,
)
from aion_actors.runtime.timeouts import at_after
from aion_actors.runtime.unawaited import WARNED_AT, Unawaited
from aion_actors.runtime.updates import ENDED_FIRST, UpdateRouter


class Machine:
    """Drives one run's coroutine; owned by exactly one RunActor thread."""

    def __init__(
        self,
        definition: WorkflowDefinition,
        workflow_id: str,
        run_id: str,
        history: Sequence[ev.Event],
        *,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        converter: PayloadConverter | None = None,
        cancels: ActivityCancels | None = None,
        rebuilt: bool = False,
        warns: bool = False,
    ) -> None:
        started = history[0]
        if not isinstance(started, ev.WorkflowStarted):
            raise ValueError(f"history of run {run_id} does not begin with WorkflowStarted")
        self.definition = definition
        self.workflow_id = workflow_id
        self.run_id = run_id
        self._converter = conv.active(converter)
        self._outcomes = Outcomes()
        #: signal handlers and which signals are taken; its `at_seq` is the workflow's place
        self._signals = SignalRouter(self._outcomes, started.seq)
        self._recorded: list[Recorded] = []
        #: update handlers; accepted updates run between steps, as handled signals do
        self.updates = UpdateRouter(
            self._outcomes, workflow_id, history[-1].seq, self._converter, max_payload_bytes
        )
        #: the commands by place, patch markers among them
        self._commands = CommandSequence(
            self._recorded,
            ended=isinstance(history[-1], ev.ENDINGS),
            rebuilt=rebuilt and started.reset_from is None,  # (a reset goes on afresh)
        )
        #: checked for what the run records anew, not for what its history holds
        self._limit = PayloadLimit(max_payload_bytes, type(history[-1]))
        self.ctx = WorkflowContext(
            workflow_id,
            run_id,
            started.recorded_at,
            self._limit.at_end(ev.WorkflowContinuedAsNew),
            self._converter,
            signals=self._signals,
            patches=self._commands,
            updates=self.updates,
            seed=(started.reset_from or {}).get("seed"),
            unawaited=(unawaited := Unawaited(noting=warns)),
        )
        self._parts = PartResolver(self._outcomes, self._converter, self.ctx._child_handle)  # noqa: SLF001 - ours to build
        #: the workflow's coroutine, then one per async update handler still running
        #: on what `history` holds, committed before (`rebuilt`), a PayloadError parks the run
        self._edge = ReplayEdge(workflow_id, run_id, history, history[-1].seq if rebuilt else 0)
        self._main = Task(
            entry.coroutine(definition, self.ctx, self._converter, started, self._edge)
        )
        self._tasks = [self._main]
        #: the last seq of the history this machine was built on: past it, nothing replays
        self._replayed_to = history[-1].seq
        self._started = False
        #: outcomes indexed since `advance` last stopped (without any, it stops there again)
        self._fed = True
        self._cancel_delivered = False
        #: what a cancel asks of the activities the await waits on
        self._cancels = cancels or ActivityCancels()
        #: the timers of waits that ended another way, cancelled once each
        self._wait_timers = WaitTimers(self._outcomes)
        self.finished = False
        #: commands never awaited are warned about at the close (the live run's, not a replay's)
        self._unawaited = unawaited if warns else None
        for event in history:
            if (command := recorded_command(event)) is not None:
                self._recorded.append(command)
        self.feed(history)
        self.ctx.is_replaying = rebuilt or bool(self._recorded) or len(history) > 1

    # -- feeding committed events

    def feed(self, events: Sequence[ev.Event]) -> None:
        """Index newly committed events; commands among them were issued by `advance`."""
        add = self._outcomes.add
        for event in events:
            if add(event):  # an outcome (most commands the code issued are not)
                self._fed = True
            elif type(event) is ev.RunDequeued:  # the queued run's code starts now, not before
                self._fed = True
                self._moved_to(event.recorded_at, event.seq)

    @property
    def issued(self) -> int:
        """How many commands the code has issued so far, recorded ones matched included."""
        return self._commands.issued

    def answer_query(self, name: str, args: tuple[Any, ...]) -> Any:
        """Answer `engine.query` from the workflow's state now; records nothing."""
        return self.ctx._answer_query(name, args)  # noqa: SLF001 - the context is ours to drive

    # -- running the coroutine

    def advance(self) -> list[ev.Event]:
        """Run the coroutines as far as committed history allows.

        Returns the new events to record: commands issued live, timers to cancel, and the
        closing lifecycle event once the coroutine ends. Raises what escapes it (a crash).
        Nothing new since it last stopped (no outcome fed, no update whose handler may wait
        for its acceptance's commit): it stops there again, at once.
        """
        if not self._fed and not self._outcomes.updates:
            return []
        self._fed = False
        out: list[ev.Event] = []
        self._commands.out = out  # patch markers recorded in place, among the commands
        while not self.finished:
            if not self._started:
                self._started = True
                self._step(self._main, ("send", None), out)
                continue
            if (resolved := self._resolve(out)) is None:
                break
            self._step(*resolved, out)
        return out

    def _step(self, task: Task, step: Step, out: list[ev.Event]) -> None:
        how, value = step
        if how == "throw" and type(value) is PayloadError:  # a payload that did not decode
            self._edge.thrown(value, self._signals.at_seq)
        try:
            yielded = task.coro.send(value) if how == "send" else task.coro.throw(value)
        except StopIteration as stop:
            if task.update is not None:
                self._tasks.remove(task)
                self.updates.finish(task.update, out, result=stop.value)
            else:
                self._finish(out, entry.completed(self._converter, stop.value, self._limit))
        except BaseException as exc:
            self._end(task, exc, out)
        else:
            self._await(task, yielded, out)

    def _end(self, task: Task, exc: BaseException, out: list[ev.Event]) -> None:
        """Close the run (or the handler) for what code raised; re-raise what is a crash."""
        if task.update is not None and isinstance(exc, Exception):
            self._tasks.remove(task)  # an update handler failed: its update, not the run
            self.updates.finish(task.update, out, error=exc)
            return
        if isinstance(exc, PayloadError):  # on recorded history, a changed code's: parked
            self._edge.check(exc, self._commands)
        cancel = self._outcomes.cancel
        if (event := entry.ending(exc, self.definition, cancel.reason if cancel else "")) is None:
            raise exc
        self._finish(out, event)

    def _await(self, task: Task, yielded: Any, out: list[ev.Event]) -> None:
        if (found := awaited(yielded)) is None:
            error: Exception | None = foreign.from_yield(self.definition.name, yielded, task.coro)
        else:  # a payload over the limit, in a command history has not recorded
            error = self._limit.refused(found[0], self._commands)
            if self._unawaited is not None:
                self._unawaited.awaited(yielded)
        if error is not None or found is None:
            task.waiting = []
            self._step(task, ("throw", error), out)
            return
        commands, mode = found
        task.block([self._issue(part, out) for part in commands], mode)
        self._signals.waited = self._waited_signals()

    def _waited_signals(self) -> frozenset[str]:
        return frozenset(
            p.key
            for t in self._tasks
            for p in t.waiting or ()
            if isinstance(p.command, SignalCommand)
        )

    def _issue(self, command: PartCommand, out: list[ev.Event]) -> Part:
        if isinstance(command, SignalCommand) and self._signals.covers(command.name):
            raise ConfigError(
                f"workflow {self.workflow_id!r} awaited ctx.wait_signal({command.name!r}) "
                "while a handler set with ctx.on_signal takes those signals; "
                "remove the handler (ctx.on_signal(name, None)) or wait on a condition"
            )
        if isinstance(command, ChildResultCommand):  # records nothing: waits on the child
            return Part(command, key=command.child_run_id, child_id=command.child_workflow_id)
        if not records(command):
            return Part(command, key=getattr(command, "name", ""))
        n, recorded = self._commands.take()
        wanted, event = command_event(command, n, self.workflow_id, self._fire_at)
        if recorded is not None:
            if (recorded.kind, recorded.name) != (wanted.kind, wanted.name):
                raise diverged(self.workflow_id, self.run_id, recorded, wanted)
            key = recorded.key
        else:
            self.ctx.is_replaying = False
            out.append(event)
            key = wanted.key
        if isinstance(command, (SignalCommand, ConditionCommand)):
            return Part(command, key=command.name, timer_id=key)
        if isinstance(event, ev.ChildStarted):
            return Part(command, key=key, child_id=event.child_workflow_id)
        return Part(command, key=key)

    def _fire_at(self, seconds: float) -> int:
        return at_after(self.ctx._now_ns, seconds)  # noqa: SLF001 - our context's clock

    # -- resolving the blocked await

    def _resolve(self, out: list[ev.Event]) -> tuple[Task, Step] | None:
        """The task to resume and its step, once history decides the earliest await."""
        if (part := lone_activity(self._tasks, self._outcomes)) is not None:
            if (landed := self._parts.resolve(part, self._signals.taken)) is None:
                return None
            self._wake(self._main, landed.recorded_at, landed.seq)
            error = landed.error
            return self._main, ("send", landed.value) if error is None else ("throw", error)
        for task in list(self._tasks):  # a condition is first checked where it is awaited
            if task.unchecked:
                task.unchecked = False
                position = self._signals.at_seq, self.ctx._now_ns  # noqa: SLF001 - its clock
                if not self._checked_conditions(*position, out, [task]):
                    return None
        while True:
            taken = set(self._signals.taken)  # scratch: kept below only for what landed
            landings = []
            for task in self._tasks:
                assert task.waiting is not None
                resolutions = [self._parts.resolve(part, taken) for part in task.waiting]
                landings.append((task, resolutions, done_seq(task.mode, resolutions)))
            cancel = self._outcomes.cancel
            if cancel is not None and not self._cancel_delivered:
                main = landings[0]
                landings[0] = (main[0], main[1], min(main[2], cancel.seq))
            task, resolutions, done = min(landings, key=lambda landing: landing[2])
            delivered = self._deliver_before(done, out)
            if delivered is None:
                return None
            if not delivered:
                break
        assert task.waiting is not None
        pending = cancel is not None and not self._cancel_delivered
        if task is self._main and cancel is not None and pending and cancel.seq == done:
            if (at := self._cancels.hold(cancel, task.waiting, self._outcomes, out)) is None:
                return None  # an activity with cancel="wait" runs: raised once it ends
            while (delivered := self._deliver_before(at[1], out)) is not False:
                if delivered is None:  # signals its holding let through: handled first
                    return None
            self._cancel_delivered = True
            self._wait_timers.close(task, out, resolutions, losers_too=True)
            self._wake(task, *at)
            return task, ("throw", Cancelled(cancel.reason))
        if done == NEVER:
            return None
        # what had not landed by `done` goes on, as it did live, its signal not taken
        resolutions = [r if r is not None and r.seq <= done else None for r in resolutions]
        for part, r in zip(task.waiting, resolutions, strict=True):
            if isinstance(part.command, SignalCommand) and r is not None and r.error is None:
                self._signals.taken.add(r.seq)
        self._wait_timers.close(task, out, resolutions, losers_too=task.mode == "first")
        if task.mode == "first":  # the losers' activities are asked to cancel
            losing = [p for p, r in zip(task.waiting, resolutions, strict=True) if r is None]
            self._cancels.losers(losing, self._outcomes, out)
        self._wake(task, max(r.recorded_at for r in resolutions if r is not None), done)
        return task, outcome(task.mode, resolutions, done)

    def _deliver_before(self, bound: int, out: list[ev.Event]) -> bool | None:
        """Hand the next signal or update before `bound` to its handler, re-check conditions:
        True if one was, False if none is due, None if the run ended or waits."""
        if not self._outcomes.ordered_signals and not self._outcomes.updates:
            return False  # the common run: nothing for a handler
        signal = self._signals.next_routed(before=bound)
        if (update := self.updates.due(signal.seq if signal else bound)) is not None:
            self._moved_to(update.recorded_at, update.seq)
            if (ran := self.updates.run(update, out)) is False:  # acceptance not committed
                return None
            if ran is not True:  # an async handler: runs now to its first await
                self._tasks.append(handler := Task(ran, update))
                self._step(handler, ("send", None), out)
            return self._checked_conditions(update.seq, update.recorded_at, out) or None
        if signal is None:
            return False
        self._moved_to(signal.recorded_at, signal.seq)
        try:
            self._signals.deliver(signal)
        except BaseException as exc:
            self._end(self._main, exc, out)
            return None
        return self._checked_conditions(signal.seq, signal.recorded_at, out) or None

    def _checked_conditions(
        self, seq: int, recorded_at: int, out: list[ev.Event], tasks: list[Task] | None = None
    ) -> bool:
        """Land the awaited conditions that now hold, at `seq`; False if the run ended."""
        for task in list(self._tasks if tasks is None else tasks):
            task.unchecked = False
            try:
                for part in task.waiting or ():
                    command = part.command
                    if isinstance(command, ConditionCommand) and part.satisfied is None:
                        held = command.predicate()
                        part.satisfied = Resolution(seq, recorded_at) if held else None
            except BaseException as exc:
                self._end(task, exc, out)
                if self.finished:
                    return False
        return not self.finished

    def _wake(self, task: Task, recorded_at: int, seq: int) -> None:
        task.waiting = None  # (alone, it waits on nothing now: no await to look through)
        self._signals.waited = self._waited_signals() if len(self._tasks) > 1 else frozenset()
        self._moved_to(recorded_at, seq)

    def _moved_to(self, recorded_at: int, seq: int) -> None:
        """The workflow has now seen event `seq`: its clock and replay flag follow."""
        self._signals.at_seq = max(self._signals.at_seq, seq)
        if seq > self._replayed_to:  # the first event past the history it was rebuilt from
            self.ctx.is_replaying = False
        # the clock is the context's, moved only by its machine
        self.ctx._now_ns = max(self.ctx._now_ns, recorded_at)  # noqa: SLF001

    def _finish(self, out: list[ev.Event], event: ev.Event) -> None:
        self.finished = True
        for handler in self._tasks[1:]:  # handlers still awaiting: failed, the run is over
            assert handler.update is not None
            handler.coro.close()
            self.updates.finish(handler.update, out, error=WorkflowError(ENDED_FIRST))
        self._tasks = [self._main]
        self._main.waiting = None
        out.append(event)
        if self._unawaited is not None and isinstance(event, WARNED_AT):  # (see `unawaited`)
            self._unawaited.warn(self.definition.name, self.run_id)

    def discard(self) -> None:
        """This incarnation is over (the run goes on by replay): close a coroutine that
        never ran (held by a pause), which Python would otherwise warn was never awaited."""
        if inspect.getcoroutinestate(self._main.coro) == inspect.CORO_CREATED:
            self._main.coro.close()
