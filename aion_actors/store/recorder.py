"""`Recorder`: the single writer in front of a store, committing in groups.

Callers in many threads (run actors, the engine facade) `submit` appends and
get a future. One writer thread takes everything queued, up to `max_batch`
requests, into one `append_batch` call: one transaction, one fsync, however
many runs it covers. A future resolves only after that commit, with the
stamped events, or fails with that request's own error (a `SequenceConflict`
fails its caller only, never the batch).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext

from aion_actors.core import (
    AionError,
    ConfigError,
    EngineClosed,
    Event,
    StoreUnavailable,
    faults,
    status_from_events,
)
from aion_actors.core.closing import CloseOnExit
from aion_actors.store.commits import Commit, Outcome, Then
from aion_actors.store.protocol import AppendRequest, EventStore
from aion_actors.telemetry import Telemetry, default_telemetry, guarded

log = logging.getLogger(__name__)

#: how often, while the store cannot write and nothing else tries, a small write is tried
PROBE_INTERVAL = 1.0
#: seconds between two log lines saying the store is full (or writes again)
_QUIET = 30.0

_Pending = tuple[AppendRequest, Outcome]
__all__ = ["Commit", "Recorder", "Then"]


class Recorder(CloseOnExit):
    """Group-committing writer thread with an in-memory head per run.

    Callbacks added to the futures run in the writer thread, after the
    commit: they must be quick and must not block (telling an actor is fine;
    waiting on another append would deadlock). The recorder does not own the
    store: close the recorder first, then the store.

    Each commit is reported to `telemetry` (by default OpenTelemetry's if it is
    installed, else nothing), once: replay appends nothing, so reports nothing.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        max_batch: int = 1024,
        telemetry: Telemetry | None = None,
        delivering: Callable[[], AbstractContextManager[object]] = nullcontext,
        epoch_of: Callable[[str], int | None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ConfigError(f"Recorder max_batch must be at least 1, not {max_batch}")
        self._store = store
        chosen = default_telemetry(self._history) if telemetry is None else telemetry
        #: what each commit is reported to (see `aion_actors.telemetry`); its failures are its own
        self.telemetry = guarded(chosen)
        self._max_batch = max_batch
        #: entered around a commit's callbacks (the engine's `Dispatcher.batch`: one wake-up)
        self._delivering = delivering
        self._queue: list[_Pending] = []
        self._lock = threading.Lock()  # callers take it bare: a `Condition`'s `with` is Python code
        self._wakeup = threading.Condition(self._lock)
        self._closed = False
        #: set while the writer commits a batch it took, and while a caller commits its own
        #: append (`append_then(alone=True)`); each under `_lock`
        self._writing = False
        self._inline = False
        self._heads: dict[tuple[str, str], int] = {}
        #: why the store cannot write, since its last failed commit; None while it can
        self.unavailable: StoreUnavailable | None = None
        self._listeners: list[Callable[[], None]] = []
        self._closing_listeners: list[Callable[[], None]] = []
        #: (µs, appends) of the latest commits, for `stats` (appended by whoever commits)
        self._recent: collections.deque[tuple[int, int]] = collections.deque(maxlen=512)
        self._commits = 0
        #: when each kind of storage message was last logged (see `_say`)
        self._said: dict[str, float] = {}
        self._heads_lock = threading.Lock()
        #: a node's (`NodeStore.epoch_of`): the epoch of a run's partition an append made
        #: now carries, so that it is refused once the partition left (`AppendRequest.epoch`)
        self.epoch_of: Callable[[str], int | None] = epoch_of or _unfenced
        self._thread = threading.Thread(target=self._run, name="aion-recorder", daemon=True)
        self._thread.start()

    def submit(
        self, workflow_id: str, run_id: str, events: Sequence[Event], expected_seq: int
    ) -> Future[list[Event]]:
        """Queue an append; the future resolves with the stamped events once committed."""
        future: Future[list[Event]] = Future()
        self._enqueue((self._request(workflow_id, run_id, events, expected_seq), future))
        return future

    def append(
        self,
        workflow_id: str,
        run_id: str,
        events: Sequence[Event],
        expected_seq: int,
        timeout: float | None = None,
    ) -> list[Event]:
        """Submit and wait for the commit; raises the request's error."""
        commit = Commit()
        self._enqueue((self._request(workflow_id, run_id, events, expected_seq), commit))
        return commit.wait(timeout)

    def append_all(self, requests: Sequence[AppendRequest]) -> list[list[Event] | BaseException]:
        """Submit several appends at once and wait for each: they share commits
        (one, up to `max_batch`), and each gets its own stamped events or error."""
        commits = [Commit() for _ in requests]
        self._enqueue(*zip(requests, commits, strict=True))
        results: list[list[Event] | BaseException] = []
        for commit in commits:
            try:
                results.append(commit.wait(None))
            except BaseException as exc:
                results.append(exc)
        return results

    def append_then(
        self,
        workflow_id: str,
        run_id: str,
        events: Sequence[Event],
        expected_seq: int,
        then: Then,
        *,
        alone: bool = False,
        epoch: int | None = None,
    ) -> Commit:
        """Queue an append; `then` is called from the writer thread once it is committed.

        `alone`: the caller knows of no other append on its way; if the writer is
        idle and nothing is queued, commit in this thread now (and call `then`
        here, before returning), sparing a lone run two thread hand-offs per
        commit. Anything submitted meanwhile waits for the writer, as usual.
        `epoch`: the one its writer was made under (default: `epoch_of` now).
        """
        commit = Commit(then)
        pending = (self._request(workflow_id, run_id, events, expected_seq, epoch), commit)
        if not (alone and self._commit_alone(pending)):
            self._enqueue(pending)
        return commit

    def _request(
        self,
        workflow_id: str,
        run_id: str,
        events: Sequence[Event],
        expected_seq: int,
        epoch: int | None = None,
    ) -> AppendRequest:
        """An append of `events`, carrying `epoch` (default: its partition's now, on a node)."""
        epoch = self.epoch_of(workflow_id) if epoch is None else epoch
        return AppendRequest(workflow_id, run_id, tuple(events), expected_seq, epoch)

    def _commit_alone(self, pending: _Pending) -> bool:
        with self._lock:
            idle = not (self._queue or self._writing or self._inline or self._closed)
            if not idle or self.unavailable is not None:
                return False
            self._inline = True
        try:
            self._commit([pending])
        finally:
            with self._lock:
                self._inline = False
                # the writer (or `close`) waits for us; or, the store unwritable, is to probe it
                if self._queue or self._closed or self.unavailable is not None:
                    self._wakeup.notify_all()
        return True

    def _enqueue(self, *pending: _Pending) -> None:
        with self._lock:
            if self._closed:
                raise EngineClosed()
            self._queue.extend(pending)
            if len(self._queue) == len(pending):  # it was empty: the writer may be asleep
                self._wakeup.notify()

    def head(self, workflow_id: str, run_id: str) -> int:
        """The committed head of a run, from memory (loaded from the store on a miss)."""
        run = (workflow_id, run_id)
        head = self._heads.get(run)
        if head is not None:
            return head
        with self._heads_lock:
            head = self._heads.get(run)
            if head is None:
                head = self._heads[run] = self._store.head(workflow_id, run_id)
            return head

    def committed_head(self, workflow_id: str, run_id: str) -> int | None:
        """The head this recorder committed or loaded for a run; None if it has none
        (nothing appended through it since it started, or the run ended)."""
        return self._heads.get((workflow_id, run_id))

    def close(self, timeout: float | None = None) -> None:
        """Commit what was submitted, then stop the writer; later submits raise `EngineClosed`.

        Called from a callback (in the writer thread), it returns at once and
        the writer stops after draining.
        """
        with self._wakeup:
            self._closed = True
            self._wakeup.notify_all()
            while self._inline:  # a caller's own commit finishes before the store may close
                self._wakeup.wait()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _history(self, workflow_id: str, run_id: str) -> list[Event]:
        return self._store.read(workflow_id, run_id)

    def when_available(self, callback: Callable[[], None]) -> None:
        """Call `callback()` (in the writer thread: be quick) each time the store can
        write again after `unavailable` was set."""
        self._listeners.append(callback)

    def when_runs_close(self, callback: Callable[[], None]) -> None:
        """Call `callback()` (in the writer thread: be quick) after each commit that closed runs."""
        self._closing_listeners.append(callback)

    def _run(self) -> None:
        while True:
            probe = False
            with self._wakeup:
                self._writing = False
                while (not self._queue or self._inline) and not self._closed:
                    if self.unavailable is None or self._inline:
                        self._wakeup.wait()
                    elif not self._wakeup.wait(PROBE_INTERVAL) and not self._queue:
                        probe = True  # nothing to write, and no word that space is back
                        break
                if not self._queue and not probe:
                    break
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                self._writing = True
            if probe:
                self._probe()
                continue
            # A future cancelled while queued withdraws its append.
            self._commit([item for item in batch if item[1].set_running_or_notify_cancel()])
        self.telemetry.close()  # after the last commit it reports

    def _say(self, what: str) -> bool:
        """Whether to log `what` now: a nearly full disk takes some writes and refuses
        others, and its log should not say so for every one."""
        now = time.monotonic()
        if now - self._said.get(what, -_QUIET) < _QUIET:
            return False
        self._said[what] = now
        return True

    def _probe(self) -> None:
        """While the store cannot write, try a small write now and then: there is no
        word from the disk when space is freed (a slow safety poll, not a waiter's)."""
        try:
            self._store.check_writable()
        except StoreUnavailable as exc:
            self.unavailable = exc
        else:
            self._writable_again()

    def _unwritable(self, error: StoreUnavailable) -> None:
        if self.unavailable is None and self._say("full"):
            log.error("%s; retrying every %g s", error, PROBE_INTERVAL)
        self.unavailable = error.for_later_calls()

    def _writable_again(self) -> None:
        if self.unavailable is None:
            return
        self.unavailable = None
        if self._say("back"):
            log.warning("the store writes again; runs that waited for it go on")
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:
                log.exception("a store-available callback raised; ignored")

    def stats(self) -> dict[str, int]:
        """Commits so far, and the commit latency (µs) and batch size of the latest 512
        (0 before the first)."""
        recent = list(self._recent) or [(0, 0)]
        p50, p99 = _median_and_p99([us for us, _ in recent])
        batch, _ = _median_and_p99([n for _, n in recent])
        return {
            "commits": self._commits,
            "commit_p50_us": p50,
            "commit_p99_us": p99,
            "commit_batch_p50": batch,
        }

    def _commit(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        if faults.ARMED:
            faults.hit("commit.before")
        requests = [request for request, _ in batch]
        began = time.perf_counter()
        try:
            results = self._store.append_batch(requests)
        except BaseException as exc:
            if isinstance(exc, StoreUnavailable):
                self._unwritable(exc)
            for _, future in batch:
                future.set_exception(exc)
            return
        seconds = time.perf_counter() - began
        self._recent.append((int(seconds * 1e6), len(batch)))
        self._commits += 1
        self._writable_again()
        if faults.ARMED:
            faults.hit("commit.after")  # committed, nobody acknowledged yet
        closed = False
        with self._heads_lock:
            heads = self._heads
            for (request, _), result in zip(batch, results, strict=True):
                if isinstance(result, AionError) or not result:
                    continue
                run = (request.workflow_id, request.run_id)
                if _ends_run(result):
                    heads.pop(run, None)  # ended runs leave the cache; a miss reloads
                    closed = True
                else:
                    heads[run] = result[-1].seq
        for callback in self._closing_listeners if closed else ():
            try:
                callback()
            except Exception:
                log.exception("a runs-closed callback raised; ignored")
        with self._delivering():
            for (_, future), result in zip(batch, results, strict=True):
                if isinstance(result, AionError):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        self.telemetry.committed(requests, results, seconds)


def _unfenced(workflow_id: str) -> None:
    """No epoch: a store shared by no nodes."""


def _median_and_p99(values: list[int]) -> tuple[int, int]:
    values.sort()
    return values[len(values) // 2], values[min(len(values) - 1, len(values) * 99 // 100)]


def _ends_run(events: list[Event]) -> bool:
    """Whether an append closes its run (the ending event comes last in practice)."""
    return type(events[-1]).lifecycle and status_from_events(events[-1:]).is_terminal
