"""The replay driver: runs a workflow coroutine against its history.

The same code path serves a live run and a replay. The coroutine is resumed only with
outcomes found in committed history; each command it issues is either matched against the
command history recorded at that position (replay: nothing is executed again) or returned
as a new event to record (live). Which of several racing outcomes wins an await — a signal
or its timeout, a result or a cancellation — is decided by their order in history, so a
replay always takes the branch the live run took.
"""

from __future__ import annotations

import traceback
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from aion_actors.core import (
    ACTIVITY_TIMEOUT,
    MAX_PAYLOAD_BYTES,
    ConfigError,
    NonDeterminismError,
    PayloadConverter,
    PayloadError,
    TimerId,
    WorkflowError,
    check_payload,
    new_run_id,
    unpackb,
)
from aion_actors.core import events as ev
from aion_actors.core import payloads as conv
from aion_actors.runtime import foreign
from aion_actors.runtime.activity_cancel import ActivityCancels
from aion_actors.runtime.commands import (
    ActivityCommand,
    ActivityError,
    ActivityTimeout,
    Cancelled,
    ChildCommand,
    ChildWorkflowError,
    ContinueAsNew,
    GatherCommand,
    SignalCommand,
    SignalTimeout,
    TimerCommand,
)
from aion_actors.runtime.context import WorkflowContext
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.recorded import Outcomes as _Outcomes
from aion_actors.runtime.recorded import Recorded as _Recorded
from aion_actors.runtime.recorded import recorded_command

_NEVER = 1 << 62
_PartCommand = ActivityCommand | TimerCommand | SignalCommand | ChildCommand


@dataclass
class _Part:
    """One outstanding await: an activity, timer, signal wait or child."""

    command: _PartCommand
    #: the outcome it waits for: activity id, timer id, signal name or child run id
    key: str
    #: a signal wait's timeout timer
    timer_id: str | None = None
    #: a child's workflow_id
    child_id: str = ""


@dataclass
class _Resolution:
    seq: int
    recorded_at: int
    value: Any = None
    error: BaseException | None = None


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
    ) -> None:
        started = history[0]
        if not isinstance(started, ev.WorkflowStarted):
            raise ValueError(f"history of run {run_id} does not begin with WorkflowStarted")
        self.definition = definition
        self.workflow_id = workflow_id
        self.run_id = run_id
        self._converter = conv.active(converter)
        self.ctx = WorkflowContext(
            workflow_id, run_id, started.recorded_at, max_payload_bytes, self._converter
        )
        self._coro = self._call(definition, started.input)
        self._recorded: list[_Recorded] = []
        self._outcomes = _Outcomes()
        self._issued = 0
        self._waiting: list[_Part] | None = None
        self._gather = False
        self._return_exceptions = False
        #: the last seq of the history this machine was built on: past it, nothing replays
        self._replayed_to = history[-1].seq
        self._started = False
        self._signals_used: dict[str, int] = {}
        self._cancel_delivered = False
        self._cancels = cancels or ActivityCancels()  # what a cancel asks of activities
        self._closed_timers: set[str] = set()
        self.finished = False
        for event in history:
            if (command := recorded_command(event)) is not None:
                self._recorded.append(command)
            self._outcomes.add(event)
        self.ctx.is_replaying = bool(self._recorded)

    def _call(
        self, definition: WorkflowDefinition, args: Sequence[Any]
    ) -> Coroutine[Any, Any, Any]:
        """The workflow's coroutine on its decoded input; a decoding failure raises at its start."""
        if self._converter is not None:
            try:
                whose = f"workflow {definition.name!r}"
                args = conv.decode_args(self._converter, definition.hints, args, whose, "input")
            except (PayloadError, ConfigError) as exc:
                return _raise(exc)
        return definition(self.ctx, *args)

    # -- feeding committed events

    def feed(self, events: Sequence[ev.Event]) -> None:
        """Index newly committed events; commands among them were issued by `advance`."""
        for event in events:
            self._outcomes.add(event)

    def answer_query(self, name: str, args: tuple[Any, ...]) -> Any:
        """Answer `engine.query` from the workflow's state now; records nothing."""
        return self.ctx._answer_query(name, args)  # noqa: SLF001 - the context is ours to drive

    # -- running the coroutine

    def advance(self) -> list[ev.Event]:
        """Run the coroutine as far as committed history allows.

        Returns the new events to record: commands issued live, timers to cancel, and the
        closing lifecycle event once the coroutine ends. Raises what escapes it (a crash).
        """
        out: list[ev.Event] = []
        while not self.finished:
            if not self._started:
                self._started = True
                step: tuple[str, Any] = ("send", None)
            else:
                resolved = self._resolve(out)
                if resolved is None:
                    break
                step = resolved
            self._step(step, out)
        return out

    def _step(self, step: tuple[str, Any], out: list[ev.Event]) -> None:
        how, value = step
        try:
            yielded = self._coro.send(value) if how == "send" else self._coro.throw(value)
        except StopIteration as stop:
            self._finish(out, self._completed(stop.value))
        except ContinueAsNew as cont:
            self._finish(
                out,
                ev.WorkflowContinuedAsNew(next_run_id=new_run_id(), input=list(cont.next_args)),
            )
        except Cancelled:
            reason = self._outcomes.cancel.reason if self._outcomes.cancel else ""
            self._finish(out, ev.WorkflowCancelled(reason=reason))
        except WorkflowError as exc:
            self._finish(out, self._failed(exc))
        except Exception as exc:
            if isinstance(exc, self.definition.fail_on):
                self._finish(out, self._failed(exc))
            elif (error := foreign.from_exception(self.definition.name, exc)) is not None:
                self._finish(out, self._failed(error))
            else:
                raise
        else:
            self._await(yielded, out)

    def _await(self, yielded: Any, out: list[ev.Event]) -> None:
        if isinstance(yielded, GatherCommand):
            parts, self._gather = yielded.parts, True
            self._return_exceptions = yielded.return_exceptions
        elif isinstance(yielded, (ActivityCommand, TimerCommand, SignalCommand, ChildCommand)):
            parts, self._gather = (yielded,), False
        else:
            self._waiting = []
            error = foreign.from_yield(self.definition.name, yielded, self._coro)
            self._step(("throw", error), out)
            return
        self._waiting = [self._issue(part, out) for part in parts]

    def _issue(self, command: _PartCommand, out: list[ev.Event]) -> _Part:
        if isinstance(command, SignalCommand) and command.timeout is None:
            return _Part(command, key=command.name)
        self._issued += 1
        n = self._issued
        if isinstance(command, ActivityCommand):
            wanted = _Recorded("activity", command.name, str(n), 0)
            deadline = None if command.timeout is None else self._fire_at(command.timeout)
            event: ev.Event = ev.ActivityScheduled(
                activity_id=str(n),
                name=command.name,
                input=list(command.args),
                attempt=1,
                deadline=deadline,
            )
        elif isinstance(command, TimerCommand):
            wanted = _Recorded("timer", "sleep", str(TimerId.sleep(n)), 0)
            event = ev.TimerStarted(timer_id=wanted.key, fire_at=self._fire_at(command.seconds))
        elif isinstance(command, SignalCommand):
            assert command.timeout is not None
            wanted = _Recorded("signal", command.name, str(TimerId.signal(command.name, n)), 0)
            event = ev.TimerStarted(timer_id=wanted.key, fire_at=self._fire_at(command.timeout))
        else:
            child_id = command.workflow_id or f"{self.workflow_id}/child-{n}"
            event = ev.ChildStarted(
                child_workflow_id=child_id,
                child_run_id=new_run_id(),
                workflow_type=command.name,
                input=list(command.args),
                on_parent_close=command.on_parent_close,
            )
            wanted = _Recorded("child", command.name, event.child_run_id, 0)
        if n <= len(self._recorded):
            recorded = self._recorded[n - 1]
            if (recorded.kind, recorded.name) != (wanted.kind, wanted.name):
                raise NonDeterminismError(
                    self.workflow_id,
                    self.run_id,
                    recorded.seq,
                    recorded.describe(),
                    wanted.describe(),
                )
            key = recorded.key
        else:
            self.ctx.is_replaying = False
            out.append(event)
            key = wanted.key
        if isinstance(command, SignalCommand):
            return _Part(command, key=command.name, timer_id=key)
        if isinstance(event, ev.ChildStarted):
            return _Part(command, key=key, child_id=event.child_workflow_id)
        return _Part(command, key=key)

    def _fire_at(self, seconds: float) -> int:
        return self.ctx._now_ns + int(seconds * 1e9)  # noqa: SLF001 - our context's clock

    # -- resolving the blocked await

    def _resolve(self, out: list[ev.Event]) -> tuple[str, Any] | None:
        assert self._waiting is not None
        signals_used = dict(self._signals_used)  # scratch: consumed below only when landed
        resolutions = [self._resolve_part(part, signals_used) for part in self._waiting]
        cancel = self._outcomes.cancel
        done_seq = max((r.seq for r in resolutions if r is not None), default=_NEVER)
        if None in resolutions:
            done_seq = _NEVER
        failed = [r.seq for r in resolutions if r is not None and r.error is not None]
        if self._gather and failed and not self._return_exceptions:
            done_seq = min(failed)  # as asyncio.gather: the first failure, in history's order
        if cancel is not None and not self._cancel_delivered and cancel.seq < done_seq:
            if (at := self._cancels.hold(cancel, self._waiting, self._outcomes, out)) is None:
                return None  # an activity with cancel="wait" runs: raised once it ends
            self._cancel_delivered = True
            self._close_waits(out, resolutions, cancel_all=True)
            self._wake(*at)
            return ("throw", Cancelled(cancel.reason))
        if done_seq == _NEVER:
            return None
        # what had not landed by `done_seq` goes on, as it did live, its signal unconsumed
        resolutions = [r if r is not None and r.seq <= done_seq else None for r in resolutions]
        for part, r in zip(self._waiting, resolutions, strict=True):
            if isinstance(part.command, SignalCommand) and r is not None and r.error is None:
                self._signals_used[part.key] = self._signals_used.get(part.key, 0) + 1
        self._close_waits(out, resolutions, cancel_all=False)
        landed = [r for r in resolutions if r is not None]
        self._wake(max(r.recorded_at for r in landed), done_seq)
        if self._gather and self._return_exceptions:
            return ("send", [r.error if r.error is not None else r.value for r in landed])
        for r in sorted(landed, key=lambda r: r.seq):
            if r.error is not None:
                return ("throw", r.error)
        values = [r.value for r in landed]
        return ("send", values if self._gather else values[0])

    def _wake(self, recorded_at: int, seq: int) -> None:
        self._waiting = None
        if seq > self._replayed_to:  # the first event past the history it was rebuilt from
            self.ctx.is_replaying = False
        # the clock is the context's, moved only by its machine
        self.ctx._now_ns = max(self.ctx._now_ns, recorded_at)  # noqa: SLF001

    def _resolve_part(self, part: _Part, signals_used: dict[str, int]) -> _Resolution | None:
        command, outcomes = part.command, self._outcomes
        if isinstance(command, ActivityCommand):
            done = outcomes.activities.get(part.key)
            if done is None:
                return None
            if isinstance(done, ev.ActivityCompleted):
                return self._value(done, done.result, command.returns, f"activity {command.name!r}")
            timed_out = done.error.get("type") == ACTIVITY_TIMEOUT
            error = (ActivityTimeout if timed_out else ActivityError)(command.name, done.error)
            return _Resolution(done.seq, done.recorded_at, error=error)
        if isinstance(command, ChildCommand):
            child = outcomes.children.get(part.key)
            if child is None:
                return None
            whose = part.child_id
            if isinstance(child, ev.ChildCompleted):
                return self._value(child, child.result, command.returns, f"child {whose!r}")
            return _Resolution(
                child.seq, child.recorded_at, error=ChildWorkflowError(whose, child.error)
            )
        if isinstance(command, TimerCommand):
            fired = outcomes.timers.get(part.key)
            if isinstance(fired, ev.TimerFired):
                return _Resolution(fired.seq, fired.recorded_at)
            return None
        return self._resolve_signal(part, signals_used)

    def _value(self, event: ev.Event, value: Any, hint: Any, whose: str) -> _Resolution:
        """A result as the awaiting code's annotation asks; a decoding failure is raised there."""
        try:
            value = conv.decode(self._converter, value, hint, f"result of {whose}")
        except PayloadError as exc:
            return _Resolution(event.seq, event.recorded_at, error=exc)
        return _Resolution(event.seq, event.recorded_at, value=value)

    def _resolve_signal(self, part: _Part, signals_used: dict[str, int]) -> _Resolution | None:
        """The next unconsumed signal of the name, or the timeout, whichever history has first."""
        name = part.key
        received = self._outcomes.signals.get(name, [])
        used = signals_used.get(name, 0)
        signal = received[used] if used < len(received) else None
        fired = self._outcomes.timers.get(part.timer_id) if part.timer_id else None
        if not isinstance(fired, ev.TimerFired):
            fired = None
        if signal is not None and (fired is None or signal.seq < fired.seq):
            signals_used[name] = used + 1
            return _Resolution(signal.seq, signal.recorded_at, value=signal.payload)
        if fired is not None:
            error = SignalTimeout(f"no signal {name!r} arrived within the timeout")
            return _Resolution(fired.seq, fired.recorded_at, error=error)
        return None

    def _close_waits(
        self, out: list[ev.Event], resolutions: list[_Resolution | None], *, cancel_all: bool
    ) -> None:
        """Cancel the timers of waits that ended another way (signal arrived, or cancel)."""
        assert self._waiting is not None
        for part, resolution in zip(self._waiting, resolutions, strict=True):
            timer_id = part.timer_id or (
                part.key if isinstance(part.command, TimerCommand) else None
            )
            if timer_id is None or timer_id in self._closed_timers:
                continue
            if timer_id in self._outcomes.timers:
                continue
            if cancel_all or (resolution is not None and resolution.error is None):
                self._closed_timers.add(timer_id)
                out.append(ev.TimerCancelled(timer_id=timer_id))

    # -- closing the run

    def _finish(self, out: list[ev.Event], event: ev.Event) -> None:
        self.finished = True
        self._waiting = None
        out.append(event)

    def _completed(self, result: Any) -> ev.Event:
        try:
            result = conv.encode(self._converter, result, "result")
            encoded = check_payload(result, "result", max_bytes=self.ctx.max_payload_bytes)
        except PayloadError as exc:
            return ev.WorkflowFailed(error=ev.error_info(exc))
        # as the store will hand it back (a tuple is a list there), to the parent and result()
        return ev.WorkflowCompleted(result=unpackb(encoded))

    def _failed(self, exc: BaseException) -> ev.Event:
        tb = "".join(traceback.format_exception(exc))
        return ev.WorkflowFailed(error=ev.error_info(exc, traceback=tb))


async def _raise(exc: BaseException) -> Any:
    raise exc
