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
import logging
import os
import queue
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import pykka

from supervisor._latch import Latch

__all__ = ["Dispatcher", "PooledActor"]

logger = logging.getLogger(__name__)

#: Pykka's envelope (`message`, `reply_to`); its class is private to Pykka.
Envelope = Any

_STOP = None

_urns = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _urns.seed(os.urandom(32)))


class _Turn:
    """One actor's turn on a dispatcher thread, as the watchdog sees it."""

    __slots__ = ("lent", "started")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.lent = False


class Dispatcher:
    """Up to ``threads`` threads running the messages of any number of pooled actors.

    One thread runs turns at a time: under the GIL a second one only adds
    hand-offs (measured on the engine's throughput benchmark: four threads
    running at once cost half again the CPU per workflow of one). A turn
    that takes longer than ``stall_after`` seconds (a handler that blocks, a
    slow workflow step) lends its duty to the next thread, up to
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
        self.throughput = throughput
        self.stall_after = stall_after
        self._ready: queue.SimpleQueue[PooledActor | None] = queue.SimpleQueue()
        self._duty = threading.Lock()
        self._loans = threading.Lock()
        self._turns: dict[int, _Turn] = {}
        self._closing = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(threads)
        ]
        self._watchdog = threading.Thread(target=self._watch, name=f"{name}-watchdog", daemon=True)
        for thread in (*self._threads, self._watchdog):
            thread.start()

    def schedule(self, actor: PooledActor) -> None:
        self._ready.put(actor)

    def _work(self) -> None:
        ready, duty, loans, turns = self._ready, self._duty, self._loans, self._turns
        me = threading.get_ident()
        while True:
            duty.acquire()
            lent = False
            # Keep the duty from turn to turn: releasing it would wake a waiting
            # thread for nothing, once per turn. Only a lent turn gives it up.
            while not lent:
                actor = ready.get()
                if actor is _STOP:
                    duty.release()
                    return
                turn = _Turn()
                with loans:
                    turns[me] = turn
                try:
                    actor._run_turn(self.throughput)
                finally:
                    with loans:
                        del turns[me]
                        lent = turn.lent
                del actor  # waiting for the next, it must not keep a stopped actor alive

    def _watch(self) -> None:
        """Lend the duty past a turn that has run for longer than ``stall_after``."""
        while not self._closing.wait(self.stall_after / 2):
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


class _Inbox:
    """An actor's queue, which schedules its actor on the dispatcher when work arrives."""

    __slots__ = ("_actor", "_forward", "_lock", "_queue", "_scheduled")

    def __init__(self, actor: PooledActor) -> None:
        self._actor: PooledActor | None = actor
        self._queue: collections.deque[Envelope] = collections.deque()
        self._lock = threading.Lock()
        #: set while the actor is queued on or running in a dispatcher thread
        #: (and while it starts): a put then needs no scheduling of its own
        self._scheduled = True
        self._forward: Callable[[Envelope], None] | None = None

    def put(self, envelope: Envelope, block: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            forward = self._forward
            if forward is None:
                self._queue.append(envelope)
                if self._scheduled:
                    return
                self._scheduled = True
        if forward is not None:
            forward(envelope)
        elif self._actor is not None:
            self._actor._dispatcher.schedule(self._actor)

    def get(self, block: bool = True, timeout: float | None = None) -> Envelope:
        with self._lock:
            return self._queue.popleft()

    def empty(self) -> bool:
        return not self._queue

    def next_or_release(self) -> Envelope | None:
        """The next envelope, or None after marking the actor unscheduled."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            self._scheduled = False
            return None

    def snapshot(self) -> list[Envelope]:
        with self._lock:
            return list(self._queue)

    def release(self) -> bool:
        """After start: True when messages already wait (the caller schedules the actor)."""
        with self._lock:
            self._scheduled = bool(self._queue)
            return self._scheduled

    def detach(self) -> None:
        """Forget the finished actor: it stays scheduled, so no put needs it again,
        and without this edge the actor and its inbox are no cycle for the
        collector to find; they go by reference counting."""
        self._actor = None

    def seal(self, forward: Callable[[Envelope], None]) -> None:
        with self._lock:
            self._forward = forward
            left = list(self._queue)
            self._queue.clear()
        for envelope in left:
            forward(envelope)


class _ExitWatch(Protocol):
    """Who learns how a pooled actor's start went, why it failed, and when it exited:
    the supervisor that started it (see `supervisor._watch`)."""

    def start_failed(self, error: BaseException) -> None: ...

    def failed(self, error: BaseException | None) -> None: ...

    def exited(self, hint: object) -> None: ...


class PooledActor(pykka.Actor):
    """A Pykka actor run by a `Dispatcher`; see the module docstring.

    Subclasses call ``super().__init__(dispatcher)``.
    """

    actor_inbox: _Inbox
    #: set by the supervisor that starts it; told from the thread each thing happens in
    _watch: _ExitWatch | None = None

    def __init__(self, dispatcher: Dispatcher) -> None:
        # What `pykka.Actor.__init__` sets, but for the urn: its `uuid.uuid4()`
        # reads os.urandom, which releases the GIL, and a host starting hundreds
        # of actors a second from many threads pays a thread hand-off for each.
        self._dispatcher = dispatcher
        self.actor_urn = uuid.UUID(int=_urns.getrandbits(128), version=4).urn
        self.actor_inbox = self._create_actor_inbox()
        # Pykka types it as an Event, and asks of it only set() and is_set().
        self.actor_stopped = Latch()  # type: ignore[assignment]
        self._actor_ref = pykka.ActorRef(self)

    def _create_actor_inbox(self) -> _Inbox:  # type: ignore[override]
        return _Inbox(self)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()

    def _actor_loop_setup(self) -> None:
        try:
            self.on_start()
        except Exception as exc:
            if self._watch is not None:
                self._watch.start_failed(exc)
            self._handle_failure(*sys.exc_info())

    def _handle_failure(self, *exc_info: Any) -> None:
        if self._watch is not None:
            self._watch.failed(exc_info[1])
        super()._handle_failure(*exc_info)

    def _start_actor_loop(self) -> None:
        """Run ``on_start`` here, then let the dispatcher run the messages."""
        self._actor_loop_setup()
        if self.actor_stopped.is_set():
            self._finish()
        elif self.actor_inbox.release():
            self._dispatcher.schedule(self)

    def queued(self) -> list[Any]:
        """The messages waiting in the inbox now (a snapshot; they stay queued)."""
        return [envelope.message for envelope in self.actor_inbox.snapshot()]

    def seal_inbox(self, forward: Callable[[Envelope], None]) -> None:
        """Hand every envelope, queued or late, to ``forward`` (in the sender's thread).

        ``forward`` should not hold the actor: the inbox keeps it, and the actor
        its inbox, so the two would be garbage only the cyclic collector finds.
        """
        self.actor_inbox.seal(forward)

    def _run_turn(self, budget: int) -> None:
        inbox = self.actor_inbox
        for _ in range(budget):
            envelope = inbox.next_or_release()
            if envelope is None:
                return
            self._process(envelope)
            if self.actor_stopped.is_set():
                self._finish()
                return
        self._dispatcher.schedule(self)

    def _process(self, envelope: Envelope) -> None:
        """One message, with the error handling of Pykka's thread loop."""
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
        except BaseException:
            # A thread actor's loop would stop every actor; a shared thread must go on.
            self._handle_failure(*sys.exc_info())

    def _finish(self) -> None:
        self._actor_loop_teardown()
        try:
            self._actor_exited()
        finally:
            watch, self._watch = self._watch, None
            if watch is not None:
                watch.exited(getattr(self, "exit_reason", None))
            self.actor_inbox.detach()

    def _actor_exited(self) -> None:
        """Called once, after the actor has stopped and answered what was queued."""
