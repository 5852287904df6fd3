"""Where each open run lives, and how a message reaches it.

A message for a run goes to its LIVE actor, or waits in its entry's mailbox
while an incarnation starts. The first message to an ABSENT run brings it
back by replay on the rehydration lane, so senders (activity threads, the
timer service, callers) never wait for a replay. An incarnation takes the
waiting messages as it starts, in order, under the run's stripe lock, so
nothing sent to a run between two incarnations is lost or overtaken. Idle
runs leave memory on the evictor's word.

Every incarnation is a supervised child keyed by `(run, generation)`: a
restart after a crash keeps the generation (and the supervisor's restart
budget); a rehydration after eviction starts the next one, so an old
incarnation still winding down never collides with its successor, and
anything it reports late is recognised as stale.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

import pykka

from aion_actors.core import (
    AionError,
    EngineClosed,
    RunKey,
    WorkflowClosed,
    WorkflowNotFound,
    faults,
)
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.actor import RunActor
from aion_actors.runtime.catalog import Catalog
from aion_actors.runtime.clock import Clock
from aion_actors.runtime.definitions import DEFAULT_RUN_RESTART, WorkflowDefinition, restart_ages
from aion_actors.runtime.evictor import Evictor
from aion_actors.runtime.following import follows
from aion_actors.runtime.host import Handoff, Incarnation, RunHost
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.runs.entry import Presence, RunCounters, RunEntry
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.runs.waiters import TypeWaiters, Waiter, waiting_for_type
from aion_actors.store import EventStore
from aion_actors.telemetry import NO_TELEMETRY, Telemetry
from supervisor import ChildInfo, ChildSpec, ExitReason, RestartPolicy, Supervisor

log = logging.getLogger("aion_actors.runtime")

#: how long a run actor may take to stop when the engine closes
_STOP_TIMEOUT = 5.0


#: histories read by startup recovery kept for their runs' next replay, at most
KEPT_HISTORIES = 100_000
#: ... and only histories this short: a long one is cheaper to read again than to hold
KEPT_EVENTS = 64


class Supervision(Protocol):
    """Who hears what the run supervisor decides about an incarnation (see endings)."""

    def on_exit(self, info: ChildInfo, reason: ExitReason, exc: BaseException | None) -> None: ...

    def on_restart(self, info: ChildInfo, delay: float) -> None: ...

    def on_exhausted(
        self, info: ChildInfo, reason: ExitReason, exc: BaseException | None, action: str
    ) -> None: ...


def child_run(info: ChildInfo) -> tuple[RunKey, int]:
    """The run and generation a supervised incarnation was started for."""
    return info.key  # type: ignore[return-value]


class Residency:
    def __init__(
        self,
        table: RunTable,
        waiters: TypeWaiters,
        store: EventStore,
        catalog: Catalog,
        host: RunHost,
        supervision: Supervision,
        *,
        evictor: Evictor,
        lane: Lane,
        counters: RunCounters,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self._table = table
        self._waiters = waiters
        self._store = store
        self._catalog = catalog
        self._host = host
        self._supervision = supervision
        self._evictor = evictor
        self._lane = lane
        self._counters = counters
        self._telemetry = telemetry
        self._sup = Supervisor.start(DEFAULT_RUN_RESTART, name="runs", forget_exited=True)
        #: histories startup recovery read, for the replay their runs' outcomes bring
        self._kept: dict[RunKey, list[ev.Event]] = {}
        #: a node's: the error for a message to an open run another node holds now
        #: (its partition moved: nothing of the message was recorded here)
        self.held_elsewhere: Callable[[RunKey], AionError | None] = lambda key: None
        #: how a request refused by its closed run reaches that run's successor: as any
        #: request reaches a run (set by `Endings`, which routes them)
        self.resend: Callable[[RunKey, msg.RequestMessage], None] = self.deliver

    @property
    def clock(self) -> Clock:
        return self._host.clock

    # -- reaching a run

    def deliver(self, key: RunKey, message: object, then: Callable[[], None] | None = None) -> None:
        """Tell the run `message`, then call `then` (it is in the run's inbox or mailbox,
        or the run is closed); an ABSENT run is brought back first."""
        table, generation, delivered = self._table, None, False
        with table.lock(key.workflow_id):
            entry = table.get(key)
            if entry is not None and not table.shut_down:
                delivered = True
                if not (entry.presence is Presence.LIVE and _told(entry.ref, message)):
                    if entry.presence is Presence.LIVE:  # its actor died: what follows decides
                        table.lost(key, entry.generation)
                    table.hold(entry, message)
                    if entry.presence is Presence.ABSENT:
                        generation = self._wake(entry)
        if not delivered:
            self.refuse(key, [message])
        if generation is not None and self._lane.submit(self._rehydrate, key, generation, then):
            return
        if then is not None:
            then()

    def bring_back(self, key: RunKey) -> None:
        """Bring an ABSENT run back by replay now (recovery: it has work pending)."""
        with self._table.lock(key.workflow_id):
            entry = self._table.get(key)
            generation = self._wake(entry) if entry is not None else None
        if generation is not None:
            self._lane.submit(self._rehydrate, key, generation, None)

    def keep_history(self, key: RunKey, history: list[ev.Event] | None) -> None:
        """Startup recovery read this ABSENT run's history: its next replay starts from it
        (if nothing was appended meanwhile) instead of reading it again. None forgets what
        an earlier recovery kept (a node that gave the run up and took it back: another
        node's appends went through another recorder)."""
        if history and len(history) <= KEPT_EVENTS and len(self._kept) < KEPT_HISTORIES:
            self._kept[key] = history
        else:
            self._kept.pop(key, None)

    def committed_head(self, key: RunKey) -> int | None:
        """The head this engine's recorder committed for the run since it started, if any."""
        return self._host.recorder.committed_head(*key)

    def _kept_handoff(self, key: RunKey) -> Handoff | None:
        """The history kept for `key` if it is still the whole history: nothing was appended
        for the run since (every append goes through the recorder, which then knows a head
        past it). Every later replay reads the store."""
        history = self._kept.pop(key, None)
        if history is None:
            return None
        head = self._host.recorder.committed_head(*key)
        return Handoff(history) if head is None or head == history[-1].seq else None

    def refuse(self, key: RunKey, messages: Sequence[object]) -> None:
        """Messages for a run that is closed (or an engine that is): their senders hear so
        — but a request, update or query addressed by workflow_id alone goes on to the run
        its run's closing names next (`_successor`), which records or answers it (or
        refuses it, here again)."""
        onward = self._successor(key) if any(map(follows, messages)) else None
        for message in messages:
            if onward is not None and follows(message):
                if isinstance(message, msg.RequestMessage):
                    self.resend(onward, message)
                else:  # an update call or a query: the next run's live state answers it
                    self.deliver(onward, message)
            elif isinstance(message, msg.Request):
                message.ack.resolve(self._closed_error(key, message))
            elif isinstance(message, msg.Query):
                _fail(message.reply, self._closed_error(key, message))

    def _successor(self, key: RunKey) -> RunKey | None:
        """The run that run `key` closed into (continue-as-new, reset) if it closed so
        and the engine is open: its closing event names it."""
        run = None if self._table.shut_down else self._store.get_run(*key)
        if run is None or not run.status.names_next_run:
            return None
        closing = self._store.read(*key, run.head)
        next_run_id = getattr(closing[-1], "next_run_id", None) if closing else None
        return RunKey(key.workflow_id, next_run_id) if next_run_id else None

    def _closed_error(self, key: RunKey, message: msg.Request | msg.Query) -> AionError:
        if self._table.shut_down:
            return EngineClosed()
        run = self._store.get_run(*key)
        if run is None:
            return WorkflowNotFound(key.workflow_id, key.run_id)
        if not run.status.is_terminal and (moved := self.held_elsewhere(key)) is not None:
            return moved
        what = message.what if isinstance(message, msg.Request) else f"query {message.name!r}"
        return WorkflowClosed(key.workflow_id, key.run_id, run.status.value, what, run.ended_at)

    # -- incarnations

    def _wake(self, entry: RunEntry) -> int | None:
        """An ABSENT run is needed: the generation to spawn, or None if its type is missing."""
        if self._catalog.workflow(entry.workflow_type) is None:
            self.await_type(entry.key, None, entry.workflow_type)
            return None
        return self._table.wake(entry)

    def await_type(self, key: RunKey, generation: int | None, name: str) -> None:
        reason = waiting_for_type(name)
        if self._table.await_type(key, generation, reason):
            self._waiters.add(
                name, ("run", key), Waiter(key, reason, lambda: self._registered(key))
            )

    def _registered(self, key: RunKey) -> None:
        entry = self._table.get(key)
        opening = entry is not None and entry.handoff is not None and entry.handoff.start
        generation = self._table.type_registered(key)
        if generation is not None and opening:
            self.spawn(key, generation)  # a new run's first start
        elif generation is not None:
            self._spawn_replayed(key, generation)

    def _rehydrate(self, key: RunKey, generation: int, then: Callable[[], None] | None) -> None:
        try:
            if faults.ARMED:
                faults.hit("rehydrate")
            self._spawn_replayed(key, generation)
        finally:
            if then is not None:
                then()

    def _spawn_replayed(self, key: RunKey, generation: int) -> None:
        """`spawn` a run that has a history: one rehydration (a new run's start is none)."""
        if self.spawn(key, generation) and (entry := self._table.get(key)) is not None:
            self._counters.rehydrations += 1
            self._telemetry.rehydrated(entry.workflow_type)

    def spawn(self, key: RunKey, generation: int) -> bool:
        """Start the incarnation of `generation` (the entry is STARTING); its `on_start`
        makes it LIVE and hands it what waited in the mailbox. False if none started."""
        entry = self._table.get(key)
        if entry is None or entry.generation != generation:
            return False
        if self._table.shut_down:
            self._never_started(key)
            return False
        definition = self._catalog.workflow(entry.workflow_type)
        if definition is None:
            self.await_type(key, generation, entry.workflow_type)
            return False
        ages: tuple[float, ...] = ()
        if entry.pending is None or not entry.pending.resuming:
            try:
                handoff = (
                    entry.handoff or self._kept_handoff(key) or Handoff(self._store.read(*key))
                )
            except EngineClosed:  # the engine closes (its read gave up an outage): the run
                self._never_started(key)  # stays in the store, for the next engine
                return False
            except AionError:  # its actor reads it again, and parks the run naming the seq
                pass
            else:
                self._table.hand_over(key, generation, handoff)
                if handoff.start is None:  # (a new run's opening holds no restarts)
                    ages = restart_ages(handoff.events, definition, self.clock.now_ns())
        try:
            info = self._sup.start_child(self._spec(key, generation, definition, ages))
        except Exception:
            if self._table.shut_down:  # (the engine closes: its supervisor has stopped)
                self._never_started(key)
            elif self._table.exited(key, generation):
                log.exception("could not start an actor for run %s; messages wait", key.run_id)
            return False
        self._evictor.started()
        self._table.started(key, generation, info.pid)
        return True

    def _never_started(self, key: RunKey) -> None:
        """The engine closes: a start no incarnation took was not recorded; its caller hears."""
        handoff = self._table.take_handoff(key)
        if handoff is not None and handoff.start is not None:
            handoff.start.resolve(EngineClosed())

    def _spec(
        self,
        key: RunKey,
        generation: int,
        definition: WorkflowDefinition,
        ages: tuple[float, ...],
    ) -> ChildSpec:
        policy: RestartPolicy = definition.restart
        supervision = self._supervision
        return ChildSpec(
            key=(key, generation),
            actor=RunActor,
            args=(self._host, key.workflow_id, key.run_id, generation),
            restart=policy.restart,
            shutdown=_STOP_TIMEOUT,
            policy=policy,
            restart_history=ages,
            on_exit=supervision.on_exit,
            on_restart=supervision.on_restart,
            on_exhausted=supervision.on_exhausted,
        )

    def incarnation(
        self, key: RunKey, generation: int, ref: pykka.ActorRef[Any]
    ) -> Incarnation | None:
        """An incarnation starts (its first message, the replay, is queued): from now on
        messages reach it. None if it is stale and must stop at once."""
        with self._table.lock(key.workflow_id):
            got = self._table.incarnated(key, generation, ref)
            if got is None:
                return None
            incarnation, held = got
            for message in held:  # under the lock: nothing newer overtakes them
                ref.tell(message)
        return incarnation

    def handoff(self, key: RunKey, generation: int) -> Handoff | None:
        """What generation's incarnation replays; None: not the run's now (it left: `dropping`)."""
        with self._table.lock(key.workflow_id):  # (a drop takes the start, or this does)
            entry = self._table.get(key)
            if entry is None or entry.generation != generation:
                return None
            handoff = self._table.take_handoff(key)
        return handoff or Handoff(self._store.read(*key))

    def restarting(self, key: RunKey, generation: int, incarnation: Incarnation) -> None:
        """The supervisor starts a replacement for a crashed incarnation."""
        self._evictor.started()
        self._table.restarting(key, generation, incarnation)

    def resume_stalled(self) -> None:
        """The store writes again: runs that waited for it come back by replay."""
        for key, generation in self._table.unstall():
            self.spawn(key, generation)

    def exited(self, key: RunKey, generation: int, *, crashed: bool) -> None:
        """An incarnation stopped: crashed (its supervisor decides what follows), or without
        closing its run (evicted, stopped by itself)."""
        self._evictor.exited(key)
        if crashed:
            return
        entry = self._table.get(key) if self._table.exited(key, generation) else None
        if entry is not None and (woken := self._wake(entry)) is not None:  # messages wait
            self._lane.submit(self._rehydrate, key, woken, None)  # (bring it back)

    def evict(self, key: RunKey) -> None:
        entry = self._table.get(key)
        if entry is not None and entry.presence is Presence.LIVE:
            _told(entry.ref, msg.Evict())

    def close(self) -> None:
        """Stop every run actor (the table refuses messages from now on)."""
        self.refuse_all(self._table.shut())
        self._kept.clear()
        self._sup.stop()
        for entry in self._table.entries():  # no actor takes a start now: its caller hears so
            self._never_started(entry.key)

    def refuse_all(self, held: list[object]) -> None:
        for message in held:
            if isinstance(message, msg.Request):
                message.ack.resolve(EngineClosed())
            elif isinstance(message, msg.Query):
                _fail(message.reply, EngineClosed())


def _told(ref: pykka.ActorRef[Any] | None, message: object) -> bool:
    """Whether `message` is in the inbox of the actor behind `ref`."""
    if ref is None:
        return False
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        return False
    return True


def _fail(future: Future[Any], error: BaseException) -> None:
    if not future.done():
        with contextlib.suppress(Exception):  # resolved by a racing commit: that answer stands
            future.set_exception(error)
