"""Pykka actors that share a few threads instead of owning one each.

A `pykka.ThreadingActor` costs an OS thread: starting one spawns it, and
every message wakes it, so a host with many short-lived, chatty actors
spends its time creating threads and switching between them. A
`PooledActor` is the same Pykka actor (``ActorRef``, ``tell``, ``ask``,
``on_start``/``on_stop``/``on_failure``, the registry) whose messages run on
a `Dispatcher`'s threads, as Akka's dispatchers or Erlang's schedulers run
processes: one message at a time per actor, in the order sent, at most
``throughput`` messages per turn so one busy actor cannot starve the rest.

Two rules differ from a thread actor, because there is no own thread:
``on_start`` runs in the thread that starts the actor, before its first
message; and a handler that blocks holds one of the dispatcher's threads, so
handlers should not wait on other pooled actors of the same dispatcher.

A stopped actor's inbox can be *sealed*: what it still holds, and whatever
arrives later, goes to a forwarder instead of being dropped, so a message
raced against the stop is not lost.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pykka

from supervisor import _pykka
from supervisor._exit_watch import ExitWatch
from supervisor._latch import Latch
from supervisor._pykka import Envelope
from supervisor._sealed import Sealed
from supervisor._turns import Lending, Turn
from supervisor._urn import new_urn
from supervisor._waits import bounded

__all__ = ["Dispatcher", "ExitWatch", "PooledActor", "watch_exits"]

logger = logging.getLogger(__name__)

_STOP = None


class Dispatcher:
    """Up to ``threads`` threads running the messages of any number of pooled actors.

    One thread runs turns at a time: under the GIL a second one only adds
    hand-offs (measured on a host's throughput benchmark: four threads
    running at once cost half again the CPU per unit of work of one). A turn
    that takes longer than ``stall_after`` seconds (a handler that blocks, a
    slow step) lends its duty to the next thread, up to
    ``threads``, so one stuck actor cannot hold up the rest; the loan ends
    with that turn.
    """

    def __init__(
        self,
        threads: int = 4,
        *,
        name: str = "dispatcher",
        throughput: int = 16,
        stall_after: float = 0.05,
    ) -> None:
        if threads < 1 or throughput < 1 or stall_after <= 0:
            raise ValueError(
                f"Dispatcher(threads={threads}, throughput={throughput}, "
                f"stall_after={stall_after}): threads and throughput must be >= 1, "
                "stall_after > 0"
            )
        self.name = name
        #: most messages one actor runs per turn before the next actor's turn
        self.throughput = throughput
        #: seconds a turn may run before the watchdog lends its duty to another thread
        self.stall_after = stall_after
        #: mailboxes with messages to run, each at most once (its ``scheduled`` flag);
        #: one ``_STOP`` per thread once closing
        self._ready: queue.SimpleQueue[_Mailbox | None] = queue.SimpleQueue()
        #: held by the one thread that runs turns (or by the watchdog's loans)
        self._duty = threading.Lock()
        #: guards ``_turns`` and each turn's ``lent``
        self._loans = threading.Lock()
        #: thread ident -> the turn it is running now; absent between turns
        self._turns: dict[int, Turn] = {}
        #: set once by `close`; never cleared
        self._closing = threading.Event()
        #: turns run by the threads that made them due, inside `lend()` (see `_turns`)
        self._lending: Lending[_Mailbox] = Lending(self._quiet, self._ready.put, throughput)
        #: fixed at construction
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(threads)
        ]
        self._watchdog = threading.Thread(target=self._watch, name=f"{name}-watchdog", daemon=True)
        for thread in (*self._threads, self._watchdog):
            thread.start()

    def schedule(self, actor: PooledActor) -> None:
        """Queue ``actor`` for a turn (its mailbox calls this when work arrives)."""
        if not self._lending.hold(actor.actor_inbox):
            self._ready.put(actor.actor_inbox)

    def lend(self, budget: int | None = None) -> contextlib.AbstractContextManager[None]:
        """A window whose turns, made due while we are quiet, this thread runs on exit."""
        return self._lending.window(budget=budget)

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """A window whose due turns are queued together when it closes: one wake-up."""
        return self._lending.window(lend=False)

    def running_here(self) -> bool:
        """Whether the calling thread is running one of this dispatcher's turns (on one of
        its threads, or lent to it): an actor's handler, which must not wait for its close."""
        return threading.get_ident() in self._turns or self._lending.lent_here()

    def _quiet(self) -> bool:
        return not self._turns and self._ready.empty() and not self._closing.is_set()

    @property
    def idle(self) -> bool:
        """Whether no actor waits for a turn now (besides the caller's own): a hint."""
        return self._ready.empty()

    def _work(self) -> None:
        ready, duty, loans, turns = self._ready, self._duty, self._loans, self._turns
        me, turn = threading.get_ident(), Turn()  # one per thread, begun again per turn
        while True:
            duty.acquire()
            lent = False
            # Keep the duty from turn to turn: releasing it would wake a waiting
            # thread for nothing, once per turn. Only a lent turn gives it up.
            while not lent:
                mailbox = ready.get()
                if mailbox is _STOP:
                    duty.release()
                    return
                turn.started, turn.lent = time.monotonic(), False  # not in `turns` yet
                with loans:
                    turns[me] = turn
                try:
                    mailbox.run_turn(self.throughput)
                finally:
                    with loans:
                        del turns[me]
                        lent = turn.lent
                del mailbox  # waiting for the next, it must not keep a stopped actor alive

    def _watch(self) -> None:
        """Lend the duty past a turn that has run for longer than ``stall_after``."""
        while not self._closing.wait(bounded(self.stall_after / 2)):
            now = time.monotonic()
            with self._loans:
                for turn in self._turns.values():
                    if not turn.lent and now - turn.started > self.stall_after:
                        turn.lent = True
                        self._duty.release()

    def close(self, timeout: float | None = None) -> None:
        """Stop the threads once they have run what is ready; stop the actors first.

        Idempotent. An actor scheduled after this is never run.
        """
        if self._closing.is_set():
            return
        self._closing.set()
        for _ in self._threads:
            self._ready.put(_STOP)
        current = threading.current_thread()
        for thread in (*self._threads, self._watchdog):
            if thread is not current:
                thread.join(timeout)
        stuck = [t.name for t in self._threads if t.is_alive() and t is not current]
        if stuck:
            logger.warning(
                "dispatcher %r: %s still inside a handler after %s s; they are daemon "
                "threads and end when it returns",
                self.name,
                ", ".join(stuck),
                timeout,
            )

    def __repr__(self) -> str:
        return f"Dispatcher({self.name!r}, threads={len(self._threads)})"


class _Mailbox:
    """A pooled actor's queue, and what a dispatcher thread runs of it (Akka's mailbox).

    Pykka's inbox protocol (`put`, `get`, `empty`) for the actor's refs; `start`,
    `run_turn` and `finish` in place of Pykka's thread loop.
    """

    __slots__ = ("_forward", "_lock", "_queue", "_scheduled", "actor", "dispatcher", "watch")

    def __init__(self, actor: PooledActor, dispatcher: Dispatcher) -> None:
        #: the actor, until it has finished (`detach`); then None
        self.actor: PooledActor | None = actor
        #: runs this mailbox's turns; fixed
        self.dispatcher = dispatcher
        #: who hears of the actor's start, failures and exit; None once told of the exit
        self.watch: ExitWatch | None = None
        #: envelopes not yet run, in the order put; empty once sealed
        self._queue: collections.deque[Envelope[Any]] = collections.deque()
        #: guards ``_queue``, ``_scheduled`` and ``_forward``
        self._lock = threading.Lock()
        #: set while the actor is queued on or running in a dispatcher thread
        #: (and while it starts, and forever once finished): a put then needs no
        #: scheduling of its own
        self._scheduled = True
        #: once sealed, where every envelope goes instead of the queue; never unset
        self._forward: Callable[[Envelope[Any]], None] | None = None

    # -- Pykka's inbox

    def put(
        self, envelope: Envelope[Any], block: bool = True, timeout: float | None = None
    ) -> None:
        with self._lock:
            forward = self._forward
            if forward is None:
                self._queue.append(envelope)
                if self._scheduled:
                    return
                self._scheduled = True
        if forward is not None:
            forward(envelope)
        elif (actor := self.actor) is not None:
            self.dispatcher.schedule(actor)

    def get(self, block: bool = True, timeout: float | None = None) -> Envelope[Any]:
        with self._lock:
            return self._queue.popleft()

    def empty(self) -> bool:
        return not self._queue

    @property
    def busy(self) -> bool:
        """Whether messages wait or one runs (and forever once the actor has finished)."""
        return self._scheduled

    # -- running the actor

    def start(self) -> None:
        """Run ``on_start`` in this thread, then hand the actor to the dispatcher."""
        actor = self.actor
        assert actor is not None
        try:
            actor.on_start()
        except Exception as exc:
            if self.watch is not None:
                self.watch.start_failed(exc)
            _pykka.handle_failure(actor, sys.exc_info())
        if actor.actor_stopped.is_set():
            self.finish()
        elif self._release():
            self.dispatcher.schedule(actor)

    def run_turn(self, budget: int) -> None:
        """Up to ``budget`` messages; then queue again if more wait."""
        actor = self.actor
        if actor is None:
            return
        for _ in range(budget):
            envelope = self._next_or_release()
            if envelope is None:
                actor.on_released()
                return
            _pykka.run_message(actor, envelope)
            if actor.actor_stopped.is_set():
                self.finish()
                return
        self.dispatcher.schedule(actor)

    def finish(self) -> None:
        """The actor has stopped: answer what is queued, report the exit, let go of it."""
        actor = self.actor
        assert actor is not None
        _pykka.teardown(actor)
        watch, self.watch = self.watch, None
        # Forget the actor: it stays scheduled, so no put needs it again, and
        # without this edge the actor and its mailbox are no cycle for the
        # collector to find; they go by reference counting.
        self.actor = None
        if watch is not None:
            watch.exited(getattr(actor, "exit_reason", None))

    def _next_or_release(self) -> Envelope[Any] | None:
        """The next envelope, or None after marking the actor unscheduled."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            self._scheduled = False
            return None

    def _release(self) -> bool:
        """After start: True when messages already wait (the caller schedules the actor)."""
        with self._lock:
            self._scheduled = bool(self._queue)
            return self._scheduled

    # -- what the actor's methods read

    def snapshot(self) -> list[Envelope[Any]]:
        with self._lock:
            return list(self._queue)

    def seal(self, forward: Callable[[Envelope[Any]], None]) -> None:
        with self._lock:
            self._forward = forward
            left = list(self._queue)
            self._queue.clear()
        for envelope in left:
            forward(envelope)


def watch_exits(actor: PooledActor, watch: ExitWatch) -> None:
    """Have ``watch`` told of ``actor``'s start failure, failures and exit; before it starts."""
    actor.actor_inbox.watch = watch


class PooledActor(pykka.Actor):
    """A Pykka actor run by a `Dispatcher`; see the module docstring.

    Subclasses call ``super().__init__(dispatcher)``. The methods named like Pykka's
    private hooks override them on purpose; `supervisor._pykka` lists what they rely on.
    """

    actor_inbox: _Mailbox

    def __init__(self, dispatcher: Dispatcher) -> None:
        # What `pykka.Actor.__init__` sets, but for the urn: its `uuid.uuid4()`
        # reads os.urandom, which releases the GIL, and a host starting hundreds
        # of actors a second from many threads pays a thread hand-off for each.
        #: runs this actor's messages; fixed
        self._dispatcher = dispatcher
        # Pykka types the stop flag as an Event, and asks of it only set() and is_set().
        _pykka.init_actor(self, new_urn(), self._create_actor_inbox(), Latch())

    # -- Pykka's private hooks, overridden (abstract in pykka.Actor, or a funnel)

    def _create_actor_inbox(self) -> _Mailbox:  # type: ignore[override]
        return _Mailbox(self, self._dispatcher)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()

    def _start_actor_loop(self) -> None:
        """Run ``on_start`` here, then let the dispatcher run the messages."""
        self.actor_inbox.start()

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Every unhandled exception comes here: tell the watch, then Pykka's handling."""
        watch = self.actor_inbox.watch
        if watch is not None:
            watch.failed(exception_value)
        _pykka.default_handle_failure(self, (exception_type, exception_value, traceback))

    # -- ours

    def on_released(self) -> None:
        """Called in the dispatcher thread each time the inbox has run dry; override."""

    def stop_in_turn(self) -> None:
        """From inside a turn: stop now when nothing is queued (no stop message and turn
        to come), else after what is queued, as `stop` does."""
        if self.actor_inbox.empty():
            _pykka.stop_now(self)
        else:
            self.stop()

    def queued(self) -> list[Any]:
        """The messages waiting in the inbox now (a snapshot; they stay queued)."""
        return [_pykka.message_of(envelope) for envelope in self.actor_inbox.snapshot()]

    def seal_inbox(self, forward: Callable[[Any], None]) -> None:
        """Hand every told message, queued or late, to ``forward(message)`` (in the
        sender's thread); an ``ask`` is answered with `pykka.ActorDeadError`.

        ``forward`` should not hold the actor: the inbox keeps it, and the actor
        its inbox, so the two would be garbage only the cyclic collector finds.
        """
        self.actor_inbox.seal(Sealed(forward, self.actor_urn))
