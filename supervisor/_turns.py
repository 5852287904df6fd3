"""A dispatcher's turns: what the watchdog sees of one, and turns lent to other threads.

A thread outside the dispatcher that has just told an actor something and
has nothing else to do (a worker thread that has just finished its task)
would otherwise wake a dispatcher thread and go to sleep itself: two OS
hand-offs, each a GIL hand-off too. Inside `Lending.window()`, a turn
that this thread's message makes due while the dispatcher is quiet (no
turn running, none queued) is held instead of queued, and runs in this
thread when the window closes — after whatever locks the sender held are
released. One message at a time per actor still holds: the mailbox stays
marked scheduled while its turn is held, so nobody else queues it.

`Lending.window(lend=False)` holds every turn made due and queues them all
when it closes: a thread that tells many actors in a row (a commit's
callbacks) then wakes the dispatcher once, at the end, instead of at the
first message and racing it for the GIL through the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["Lending", "Turn"]

logger = logging.getLogger(__name__)


class Turn:
    """One actor's turn on a dispatcher thread, as the watchdog sees it."""

    __slots__ = ("lent", "started")

    def __init__(self) -> None:
        #: when the turn began (monotonic); set by its thread while the turn is in no
        #: thread's ``_turns`` (one Turn per thread, begun again for each turn)
        self.started = time.monotonic()
        #: True once the watchdog released the duty on this turn's behalf; set once per
        #: turn, under the dispatcher's ``_loans`` lock
        self.lent = False


class Turnable(Protocol):
    """A mailbox, as lending sees it: marked scheduled, it runs a turn when asked."""

    def run_turn(self, budget: int) -> None: ...


M = TypeVar("M", bound=Turnable)


class Lending(Generic[M]):
    """Turns held by the thread that made them due, and run there; see the module docstring.

    ``quiet()`` says whether the dispatcher runs nothing and has nothing queued;
    ``queue(mailbox)`` hands a turn to the dispatcher's threads as usual.
    """

    __slots__ = ("_lender", "_local", "_one", "_queue", "_quiet", "budget")

    def __init__(self, quiet: Callable[[], bool], queue: Callable[[M], None], budget: int) -> None:
        self._quiet = quiet
        self._queue = queue
        #: messages per lent turn, as on the dispatcher's threads
        self.budget = budget
        #: per thread: ``held``, the turns held in its open window (None outside one)
        self._local = threading.local()
        #: held while a lent turn runs: one at a time, so lenders do not pile up on the GIL
        self._one = threading.Lock()
        #: the ident of the thread running a lent turn, None between them; set under ``_one``
        self._lender: int | None = None

    def hold(self, mailbox: M) -> bool:
        """Whether this thread keeps ``mailbox``'s due turn until its window closes."""
        local = self._local
        held: list[M] | None = getattr(local, "held", None)
        if held is None:
            return False
        if local.lend and (self._one.locked() or not self._quiet()):
            return False  # a busy dispatcher runs it: queued now, it wakes no one
        held.append(mailbox)
        return True

    def lent_here(self) -> bool:
        """Whether the calling thread is running a lent turn now."""
        return self._lender == threading.get_ident()

    def window(self, *, lend: bool = True, budget: int | None = None) -> _Window[M]:
        """Hold the turns this thread makes due; on exit run them here (``lend``: only
        those made due while the dispatcher was quiet, and only if it still is), or
        queue them all at once (not ``lend``: many messages, one wake-up). ``budget``:
        messages per lent turn (default: the dispatcher's), the rest queued as usual."""
        return _Window(self, lend, self.budget if budget is None else budget)

    def _close(self, held: list[M], lend: bool, budget: int) -> None:
        """A window closes: run (``lend``) or queue what it held."""
        if lend:
            self._run(held, budget)
        else:
            for mailbox in held:
                self._queue(mailbox)

    def _run(self, held: list[M], budget: int) -> None:
        for i, mailbox in enumerate(held):
            if not (self._quiet() and self._one.acquire(blocking=False)):
                self._queue(mailbox)
                continue
            self._lender = threading.get_ident()
            try:
                mailbox.run_turn(budget)
            except BaseException:  # not the actor's failure (Pykka handles that): ours
                logger.exception("a lent turn failed; the turns held after it are queued")
                for rest in held[i + 1 :]:
                    self._queue(rest)
                raise
            finally:
                self._lender = None
                self._one.release()


class _Window(Generic[M]):
    """`Lending.window`'s context: a class, not a generator-based one (a third of the
    cost, on a path a task's every result and every batch of messages takes)."""

    __slots__ = ("_budget", "_held", "_lend", "_lending")

    def __init__(self, lending: Lending[M], lend: bool, budget: int) -> None:
        self._lending = lending
        self._lend = lend
        self._budget = budget
        #: what this window holds; None when nested in another (the outer one decides)
        self._held: list[M] | None = None

    def __enter__(self) -> None:
        local = self._lending._local  # noqa: SLF001 - the window is part of Lending
        if getattr(local, "held", None) is not None:  # nested: the outer one decides
            return
        self._held = []
        local.held, local.lend = self._held, self._lend

    def __exit__(self, *exc: object) -> None:
        held = self._held
        if held is None:
            return
        self._held = None
        self._lending._local.held = None  # noqa: SLF001 - later turns are queued as usual
        self._lending._close(held, self._lend, self._budget)  # noqa: SLF001 - see above
