"""`AsyncEngine`: the `Engine`'s verbs as coroutines, for asyncio services.

Nothing here blocks the event loop. A call that waits for a commit (start,
signal, cancel, terminate) hands its request over without waiting and
awaits a future the recorder's acknowledgement resolves; `result()` awaits
one the run table resolves when the run parks or closes; a live run answers
a query or an update through a `concurrent.futures.Future` wrapped for the
loop. No thread waits for any of them. A request whose caller's timeout passes
is given up as `Engine`'s are (`Requests.given_up`): kept until it is recorded — on a
node, handed to its partition's owner should the partition leave first.

What only reads the store — `describe`, `history`, `list_runs`, a closed
run's result, a query a closed or parked run answers from its history —
runs on one small pool of reader threads: a store read has no completion
callback, and a PostgreSQL store's is a network round trip. So does the
hand-over of a `start_many` batch of more than 32 runs (it waits for no
commit, but starting hundreds of run actors is tens of ms of work). Opening and
closing the engine (recovery, joining its threads) run once on the loop's
default executor; signal-with-start (`start(..., signal=...)`) runs on the
reader pool too, since it may retry a start or a signal under a race. So does
a signal, cancel or terminate this engine cannot hand to a run it holds open —
one of a partition another node owns (sent on to it, as `Engine`'s are, by
`aion_actors.calls.Calls`), or none open (it raises there).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar, Unpack

from aion_actors import shutdown
from aion_actors.aio._bridge import resolver, within
from aion_actors.aio.handle import AsyncRunHandle
from aion_actors.aio.waiting import closed_elsewhere, parked_or_closed
from aion_actors.calls import checked_signal, checked_with_reason
from aion_actors.core import (
    EngineClosed,
    Event,
    OwnershipLost,
    RunKey,
    SequenceConflict,
    UpdateFailed,
    WorkflowClosed,
    payloads,
)
from aion_actors.core import events as ev
from aion_actors.core.status import WorkflowStatus
from aion_actors.engine import Engine
from aion_actors.handles import RunDescription, result_of
from aion_actors.runtime import client_calls
from aion_actors.runtime import messages as msg
from aion_actors.runtime.definitions import ActivityDefinition, RetryPolicy, WorkflowDefinition
from aion_actors.runtime.runs.whereabouts import overdue
from aion_actors.runtime.timeouts import call_timeout
from aion_actors.runtime.update_calls import new_call
from aion_actors.starting import StartOptions, policy_of
from aion_actors.store import RunFilters, RunPage
from supervisor import RestartPolicy

T = TypeVar("T")

#: threads that read the store for the coroutines of one `AsyncEngine`
READERS = 4
#: `start_many` hands over at most this many runs on the loop itself
_INLINE_STARTS = 32


class AsyncEngine:
    """An `Engine` driven from an asyncio event loop (see README "From asyncio and FastAPI")."""

    def __init__(self, engine: Engine, *, readers: int = READERS) -> None:
        #: the engine underneath, for what has no coroutine here (its calls block)
        self.engine = engine
        # the facade's parts, driven without waiting (the engine's own verbs wait)
        parts = engine._parts  # noqa: SLF001 - the async facade is the engine's other face
        self._runs, self._lookup, self._starter = parts.runs, parts.lookup, parts.starter
        self._calls, self._updates = parts.calls, parts.updates  # (blocking verbs' checks)
        #: what of the engine's own work the calling thread is doing (`Parts.inside`)
        self._inside = parts.inside
        self._in_turn = parts.runs.dispatcher.running_here  # (client calls refused there)
        self._reads = ThreadPoolExecutor(readers, thread_name_prefix="aion-aio-read")
        self._closed = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, path: str | os.PathLike[str], **options: Any) -> AsyncIterator[AsyncEngine]:
        """`async with AsyncEngine.open(path, ...) as engine:` — `Engine.open`'s arguments;
        opened (recovering open runs) and closed off the loop."""
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(None, functools.partial(Engine.open, path, **options))
        async_engine = cls(engine)
        try:
            yield async_engine
        finally:
            await async_engine.aclose()

    async def aclose(self, *, drain: float = 0.0) -> None:
        """Close the engine (off the loop: it joins its threads and worker processes);
        `drain` as for `Engine.close`."""
        if self._closed:  # a second call returns once the first has closed it, as `close`
            await asyncio.get_running_loop().run_in_executor(None, self.engine.close)
            return
        shutdown.check_drain(drain)  # (before it counts as closed: a wrong drain closes nothing)
        shutdown.check_not_in_activity(self.engine, self._inside())  # (on the loop, its caller's)
        self._closed = True
        close = functools.partial(self.engine.close, drain=drain)
        await asyncio.get_running_loop().run_in_executor(None, close)
        self._reads.shutdown(wait=False)

    async def __aenter__(self) -> AsyncEngine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- registration

    async def register(
        self,
        *definitions: WorkflowDefinition | ActivityDefinition[Any, Any],
        restart: RestartPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        executor: Literal["process", "thread"] | None = None,
        replace: bool = False,
    ) -> None:
        """`Engine.register` (it only updates the catalog and wakes waiting runs)."""
        self._check_open()
        self.engine.register(
            *definitions,
            restart=restart,
            retry=retry,
            timeout=timeout,
            executor=executor,
            replace=replace,
        )

    # -- changing runs

    async def start(
        self,
        workflow: WorkflowDefinition | str,
        *args: Any,
        workflow_id: str | None = None,
        signal: tuple[str, Any] | None = None,
        **options: Unpack[StartOptions],
    ) -> AsyncRunHandle:
        """`Engine.start`: returns once the run's `WorkflowStarted` is committed."""
        self._check_open()
        if signal is not None or policy_of(options) is not None:  # may retry: on a reader
            call = functools.partial(
                self.engine.start, workflow, *args, workflow_id=workflow_id, signal=signal
            )
            signalled = await self._read(functools.partial(call, **options))
            return AsyncRunHandle(self, signalled.workflow_id, signalled.run_id)
        ids = None if workflow_id is None else [workflow_id]
        [(key, ack)] = self._starter.begin_many(workflow, [args], ids, options)
        if ack is not None:
            future, resolve = resolver(asyncio.get_running_loop())
            _on_done(ack, resolve)
            with contextlib.suppress(SequenceConflict):  # it existed already (as `Engine`)
                await future
        return AsyncRunHandle(self, key.workflow_id, key.run_id)

    async def start_many(
        self,
        workflow: WorkflowDefinition | str,
        inputs: Iterable[Sequence[Any]],
        *,
        workflow_ids: Iterable[str] | None = None,
        **options: Unpack[StartOptions],
    ) -> list[AsyncRunHandle]:
        """`Engine.start_many`: returns once every run's start is committed."""
        self._check_open()
        loop = asyncio.get_running_loop()
        inputs = list(inputs)
        if policy_of(options) is not None:  # a start policy may wait: on a reader
            call = functools.partial(self.engine.start_many, workflow, inputs)
            handles = await self._read(
                functools.partial(call, workflow_ids=workflow_ids, **options)
            )
            return [AsyncRunHandle(self, h.workflow_id, h.run_id) for h in handles]
        begin = functools.partial(self._starter.begin_many, workflow, inputs, workflow_ids, options)
        # each run costs ~0.1 ms of work to hand over (no wait): a big batch, off the loop
        started = begin() if len(inputs) <= _INLINE_STARTS else await self._read(begin)
        waits = []
        for _key, ack in started:
            if ack is not None:
                future, resolve = resolver(loop)
                _on_done(ack, resolve)
                waits.append(future)
        errors = await asyncio.gather(*waits, return_exceptions=True)
        for error in errors:
            # a SequenceConflict: the run existed already, nothing was written (as `Engine`)
            if isinstance(error, BaseException) and not isinstance(error, SequenceConflict):
                raise error
        return [AsyncRunHandle(self, key.workflow_id, key.run_id) for key, _ in started]

    async def signal(
        self, workflow_id: str, name: str, payload: Any = None, *, timeout: float = 30.0
    ) -> None:
        """`Engine.signal`: returns once `SignalReceived` is committed."""
        client_calls.check(self._in_turn, 1)
        checked_signal(name, timeout)
        payload = self._checked(payload)
        blocking = functools.partial(self._calls.signal, workflow_id, name, payload, timeout)
        await self._request(workflow_id, timeout, blocking, msg.Signal, name, payload)

    async def cancel(self, workflow_id: str, reason: str = "", *, timeout: float = 30.0) -> None:
        """`Engine.cancel`: returns once the cancel request is committed."""
        client_calls.check(self._in_turn, 1)
        checked_with_reason("cancel", reason, timeout)
        # the `Engine`'s way, always: a queued run is cancelled in its queue (its code
        # never runs), which a request to the run would not do
        await self._read(functools.partial(self._calls.cancel, workflow_id, reason, timeout))

    async def terminate(self, workflow_id: str, reason: str = "", *, timeout: float = 30.0) -> None:
        """`Engine.terminate`: returns once the run's end is committed."""
        client_calls.check(self._in_turn, 1)
        checked_with_reason("terminate", reason, timeout)
        blocking = functools.partial(self._calls.terminate, workflow_id, reason, timeout)
        await self._request(workflow_id, timeout, blocking, msg.TerminateRequest, reason)

    async def update(
        self,
        workflow_id: str,
        name: str,
        payload: Any = None,
        *,
        update_id: str | None = None,
        timeout: float = 30.0,
    ) -> Any:
        """`Engine.update`: the handler's result, once its `UpdateCompleted` is committed."""
        self._check_open()
        call_timeout(timeout, "update")
        fresh = update_id is None  # (its id made up here: no run is searched for its answer)
        update_id = uuid.uuid4().hex if fresh else update_id
        blocking = functools.partial(
            self._updates.update, workflow_id, name, payload, update_id, timeout, fresh=fresh
        )
        if not isinstance(update_id, str) or not update_id:
            return await self._read(blocking)  # it raises naming the bad id
        key = await self._latest(workflow_id)
        call = new_call(name, self._checked(payload), update_id, follows=True, fresh=fresh)
        if not isinstance(name, str) or not name or not self._runs.port.deliver(key, call):
            return await self._read(blocking)  # answered at once: history, or a refusal
        late = f"workflow {workflow_id!r} did not answer update {name!r} (id {update_id}) "
        late += f"within {timeout} s; it may still run: call again with the same update_id"
        try:
            done = await within(asyncio.wrap_future(call.answer), timeout, late)
        except WorkflowClosed:  # it closed meanwhile: its history may hold the answer
            return await self._read(blocking)
        if done.error is not None:
            raise UpdateFailed(workflow_id, name, update_id, done.error)
        return done.result

    # -- reading runs

    async def query(self, workflow_id: str, name: str, *args: Any, timeout: float = 10.0) -> Any:
        """`Engine.query`: a live run answers from its state, another from its history."""
        self._check_open()
        call_timeout(timeout, "query")
        blocking = functools.partial(self.engine.query, workflow_id, name, *args, timeout=timeout)
        key = await self._latest(workflow_id)
        query = msg.Query(name, tuple(args), follows=True)
        if not self._runs.port.deliver(key, query):
            return await self._read(blocking)
        late = f"workflow {workflow_id!r} did not answer query {name!r} within {timeout} s"
        try:
            return await within(asyncio.wrap_future(query.reply), timeout, late)
        except WorkflowClosed:  # it closed while the query waited: its history answers
            return await self._read(blocking)

    async def result(
        self,
        workflow_id: str,
        run_id: str | None = None,
        *,
        timeout: float | None = None,
        raise_on_park: bool = True,
    ) -> Any:
        """`Engine.result`: awaits the run's end (following continue-as-new), woken by the
        run table — or, for a run another node holds, by its owner's answer to this node's
        watch of it (as `Engine.result` is) — never a thread per waiting call, nor a poll."""
        client_calls.check(self._in_turn, 1)
        timeout = call_timeout(timeout, "result")
        key = RunKey(workflow_id, run_id) if run_id else await self._latest(workflow_id)
        port, there = self._runs.port, False  # (there: it waits for another node's run)
        now = functools.partial(port.closed_now, raise_on_park=raise_on_park)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    there, closing = False, await parked_or_closed(port, key, raise_on_park)
                    if closing is None:  # not open here (ended, or held elsewhere), or parked
                        key, closing, there = await self._read(functools.partial(now, key))
                    if isinstance(closing, ev.WorkflowContinuedAsNew | ev.WorkflowReset):
                        key = RunKey(workflow_id, closing.next_run_id)
                    elif closing is not None:  # its end
                        return await self._typed(key, result_of(key, closing))
                    elif there:  # held by another node (or by none yet)
                        self._check_open()
                        await closed_elsewhere(port, self._reads, key, raise_on_park)
        except TimeoutError:
            if there:  # (its message names the node: a store read)
                late = await self._read(functools.partial(port.overdue_elsewhere, key, timeout))
                raise late from None
            raise overdue(key, timeout, None, self._runs.whereabouts(key)) from None

    async def describe(self, workflow_id: str) -> RunDescription:
        """`Engine.describe` (a store read, on a reader thread)."""
        return await self._read(functools.partial(self.engine.describe, workflow_id))

    async def history(self, workflow_id: str, run_id: str | None = None) -> list[Event]:
        """`Engine.history` (a store read, on a reader thread)."""
        return await self._read(functools.partial(self.engine.history, workflow_id, run_id))

    async def list_runs(
        self,
        status: WorkflowStatus | str | None = None,
        workflow_type: str | None = None,
        **filters: Unpack[RunFilters],
    ) -> RunPage:
        """`Engine.list_runs` (a store read, on a reader thread)."""
        call = functools.partial(self.engine.list_runs, status, workflow_type, **filters)
        return await self._read(call)

    def stats(self) -> dict[str, int]:
        """`Engine.stats` (counters in memory: no await needed)."""
        return self.engine.stats()

    # -- helpers

    async def _request(
        self,
        workflow_id: str,
        timeout: float | None,
        blocking: Callable[[], None],
        kind: Callable[..., msg.RequestMessage],
        *fields: Any,
    ) -> None:
        """A change request (its arguments checked): sent to the run this engine holds, and
        awaited; else made by `blocking`, the `Engine`'s way (`Calls`), on a reader."""
        self._check_open()
        if (key := self._calls.held_here(workflow_id)) is None:  # another node's, or none
            return await self._read(blocking)
        future, resolve = resolver(asyncio.get_running_loop())
        request = kind(*fields, msg.Ack(resolve, follows=True))  # (by workflow_id: see Ack)
        self._runs.port.send(key, request)
        try:
            try:
                await asyncio.wait_for(future, timeout)
            except TimeoutError:  # given up: kept as `Engine`'s are (`runs.handing`)
                if (late := self._runs.port.given_up(key, request, timeout)) is not None:
                    raise TimeoutError(late) from None
                request.ack.wait(0)  # resolved meanwhile: its outcome stands
            except asyncio.CancelledError:  # its caller went away (a client disconnected):
                self._runs.port.given_up(key, request, timeout)  # sent, so kept the same way
                raise
        except OwnershipLost:  # the partition moved away: nothing recorded; on to its owner
            await self._read(blocking)
        return None

    async def _latest(self, workflow_id: str) -> RunKey:
        run_id = self._runs.open_run(workflow_id)
        if run_id is None:
            run_id = (await self._read(functools.partial(self._lookup.latest, workflow_id))).run_id
        return RunKey(workflow_id, run_id)

    async def _typed(self, key: RunKey, value: Any) -> Any:
        """A result as its workflow's annotation asks (the store names the workflow type)."""
        if payloads.active(self.engine.converter) is None:
            return value
        return await self._read(functools.partial(self._lookup.typed_result, key, value))

    def _checked(self, payload: Any) -> Any:
        converter = payloads.active(self.engine.converter)
        return payloads.checked(converter, payload, "payload", self.engine.max_payload_bytes)

    async def _read(self, call: Callable[[], T]) -> T:
        if self._closed:  # (the verbs made their checks; a read-only one is not refused)
            raise EngineClosed()
        return await asyncio.get_running_loop().run_in_executor(self._reads, call)

    def _check_open(self) -> None:  # (and not called from workflow code: `client_calls`)
        if self._closed:
            raise EngineClosed()
        client_calls.check(self._in_turn)


def _on_done(ack: msg.Ack, resolve: Callable[[BaseException | None], None]) -> None:
    """Tell `resolve` when `ack` resolves (a start's ack carries no callback of its own)."""
    ack.on_done = resolve
    if ack.done():  # resolved before the callback was in place: tell it now
        resolve(ack.error)
