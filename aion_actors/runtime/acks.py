"""`Ack`: the caller's side of a change request (or of a start), resolved once.

Its caller may stop waiting (`abandon`, after its timeout): whatever resolves it
then tells the outcome to whoever took over the request instead (see
`runs.requests`). A request the store could not record yet is `keep`-t for the
run's next incarnation if its caller stopped waiting — it was told "it is not
lost" — else its caller hears why now, and it is never recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from supervisor import Latch, wait_long

#: makes an ack's `abandon` and `keep` exclusive: exactly one of "its caller hears the
#: error" and "kept, recorded later" happens (both are rare: a timeout, a failed write)
_DECIDING = threading.Lock()


class Ack:
    """The caller's side of a change request (or of a start): resolved once, by the
    commit of its event or by whatever tells it the event will never be recorded.

    A latch and two fields rather than a `Future`: the recorder's thread
    resolves one per request and per start, and a `Future` is a condition,
    a waiter list and callbacks built in Python.
    """

    __slots__ = ("_claim", "_done", "error", "follows", "on_done", "submitted")

    def __init__(
        self,
        on_done: Callable[[BaseException | None], None] | None = None,
        *,
        follows: bool = False,
    ) -> None:
        #: told the outcome once it is resolved, on the resolving thread: keep it quick
        self.on_done = on_done
        #: its caller named the workflow_id alone (no run_id): a run that closes before
        #: recording it, naming a next run (continue-as-new, reset), passes it on to that
        #: run (see `Residency.refuse`); a request for one run (a run_id, a token) never is
        self.follows = follows
        #: taken by the first resolver: later ones change nothing
        self._claim = threading.Lock()
        #: set once `error` holds the outcome (None: recorded)
        self._done = Latch()
        self.error: BaseException | None = None
        #: true once the event is handed to the recorder: from then on only the
        #: commit decides. A request whose actor died before submitting it was
        #: never recorded: it goes to the next incarnation.
        self.submitted = False

    def resolve(self, error: BaseException | None = None) -> bool:
        """Recorded (`error` None) or not; False if it was resolved already."""
        if not self._claim.acquire(blocking=False):
            return False
        self.error = error
        self._done.set()
        if self.on_done is not None:
            self.on_done(error)
        return True

    def abandon(self, then: Callable[[BaseException | None], None]) -> bool:
        """Its caller stops waiting: `then` is told the outcome instead, once, on the
        resolving thread. False if it was resolved already (the caller reads it)."""
        with _DECIDING:
            once = _Once(then, self.on_done)
            self.on_done = once
        # resolved before `on_done` was read: the caller takes the outcome
        return not (self._done.is_set() and once.claim())

    def keep(self, error: BaseException) -> bool:
        """Its event could not be recorded now (`error`: the store could not write) but
        may be later, by its run's next incarnation. True if its caller stopped waiting
        (`abandon`): it stays unresolved, for that incarnation's commit (or whatever else
        becomes of it) to resolve. Else it is resolved with `error` now, which its caller
        hears (False): it must not be recorded then."""
        with _DECIDING:
            if self._done.is_set():
                return False
            if isinstance(self.on_done, _Once):
                return True
            if not self._claim.acquire(blocking=False):
                return False
            self.error = error
            self._done.set()
            on_done = self.on_done  # (an `abandon` from now on finds it resolved)
        if on_done is not None:
            on_done(error)
        return False

    def wait(self, timeout: float | None = None) -> None:
        """Block until resolved; raise its error, or `TimeoutError` after `timeout`."""
        if not wait_long(self._done.wait, timeout):
            raise TimeoutError(f"not recorded within {timeout} s")
        if self.error is not None:
            raise self.error

    def done(self) -> bool:
        return self._done.is_set()


class _Once:
    """An abandoned ack's `on_done`: calls `then` (after what was there before) unless
    its caller claimed the outcome first."""

    __slots__ = ("_before", "_claim", "_then")

    def __init__(
        self,
        then: Callable[[BaseException | None], None],
        before: Callable[[BaseException | None], None] | None,
    ) -> None:
        self._then = then
        self._before = before
        self._claim = threading.Lock()

    def claim(self) -> bool:
        return self._claim.acquire(blocking=False)

    def __call__(self, error: BaseException | None) -> None:
        if self._before is not None:
            self._before(error)
        if self.claim():
            self._then(error)
