"""Starting runs: reserve each workflow_id, then let each run's actor commit its start.

A commit waits for an fsync, so no lock is held meanwhile: each run is first
reserved in the run table, which refuses a second start of its workflow_id,
and the reservation is withdrawn if its first commit fails. The actor of a
new run records its `WorkflowStarted` together with its workflow's first
commands, in one commit that the caller waits for. Runs started together
share their commits, which is what makes `Engine.start_many` cheaper than a
loop of `start`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aion_actors.core import (
    ConfigError,
    PayloadError,
    RunKey,
    SequenceConflict,
    check_id,
    check_payload,
    new_run_id,
    new_workflow_id,
    stamp,
)
from aion_actors.core import events as ev
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.host import Handoff, RunHost
from aion_actors.runtime.lane import Lane
from aion_actors.runtime.messages import Ack
from aion_actors.runtime.runs import policies
from aion_actors.runtime.runs.entry import RunEntry, Undecided
from aion_actors.runtime.runs.holding import Holding, held
from aion_actors.runtime.runs.lending import Lend, OpeningLender
from aion_actors.runtime.runs.policies import StartPolicy
from aion_actors.runtime.runs.residency import Residency
from aion_actors.runtime.runs.spawning import Spawner
from aion_actors.runtime.runs.table import RunTable
from aion_actors.runtime.timeouts import NO_TIMEOUTS, Timeouts
from aion_actors.store import EventStore, RunSummary
from supervisor import Latch

#: True: started; False: the run already existed; an exception: why it did not start;
#: a run's key: the run a start policy handed back instead (see `policies`)
Started = bool | BaseException | RunKey


@dataclass(frozen=True, slots=True)
class NewRun:
    """One run to start: its ids, its input, the run that started it, if any, and its
    timeouts."""

    workflow_id: str
    run_id: str
    args: Sequence[Any]
    parent: dict[str, Any] | None = None
    timeouts: Timeouts = NO_TIMEOUTS
    #: signal-with-start: the signal (name, payload) recorded right after its start
    signal: tuple[str, Any] | None = None
    #: what the starter attached to the run (unindexed), recorded in its start
    memo: dict[str, Any] | None = None
    #: events recorded right after its start, in its first commit (a queue's hold)
    after: tuple[ev.Event, ...] = ()
    #: the run_id of the run it continues as new from, recorded in its start
    continued_from: str | None = None

    @classmethod
    def successor(
        cls,
        workflow_id: str,
        closing: ev.WorkflowContinuedAsNew,
        parent: dict[str, Any] | None,
        started: ev.Event | None,
    ) -> NewRun:
        """The run `closing` continues into, inheriting the timeouts and memo of the run
        `started` opened."""
        memo = started.memo if isinstance(started, ev.WorkflowStarted) else None
        since = started.run_id if isinstance(started, ev.WorkflowStarted) else None
        timeouts = Timeouts.carried(started)
        args = (workflow_id, closing.next_run_id, closing.input, parent, timeouts)
        return cls(*args, memo=memo, continued_from=since)

    @property
    def key(self) -> RunKey:
        return RunKey(self.workflow_id, self.run_id)

    def followed_by(self, after: tuple[ev.Event, ...]) -> NewRun:
        """This run with `after` in its first commit (built directly: `replace` costs)."""
        return NewRun(
            self.workflow_id,
            self.run_id,
            self.args,
            self.parent,
            timeouts=self.timeouts,
            signal=self.signal,
            memo=self.memo,
            after=after,
            continued_from=self.continued_from,
        )


def new_runs(
    inputs: Iterable[Sequence[Any]],
    workflow_ids: Iterable[str] | None,
    max_payload_bytes: int,
    timeouts: Timeouts = NO_TIMEOUTS,
    memo: dict[str, Any] | None = None,
) -> list[NewRun]:
    """Check what a caller asks to start, before anything is written; fresh run ids."""
    inputs = list(inputs)
    memo = check_memo(memo, max_payload_bytes)
    ids = [new_workflow_id() for _ in inputs] if workflow_ids is None else list(workflow_ids)
    if len(ids) != len(inputs):
        raise ConfigError(
            f"start_many got {len(ids)} workflow_ids for {len(inputs)} inputs; "
            "give one per input, or none"
        )
    first: dict[str, int] = {}
    new = []
    for index, (args, workflow_id) in enumerate(zip(inputs, ids, strict=True)):
        where = "input" if len(inputs) == 1 else f"inputs[{index}]"
        if not isinstance(args, list | tuple):
            raise PayloadError(
                where, f"must be a tuple of the run's arguments, got {type(args).__name__}"
            )
        check_payload(list(args), where, max_bytes=max_payload_bytes)
        check_id(workflow_id, "workflow_id")
        if first.setdefault(workflow_id, index) != index:
            raise ConfigError(
                f"workflow_id {workflow_id!r} is given twice (inputs {first[workflow_id]} "
                f"and {index}); a workflow_id has one open run at a time"
            )
        new.append(NewRun(workflow_id, new_run_id(), tuple(args), timeouts=timeouts, memo=memo))
    return new


def check_memo(memo: Any, max_payload_bytes: int) -> dict[str, Any] | None:
    """`memo` if it is None or a dict of str keys whose values are payloads."""
    if memo is None:
        return None
    if not isinstance(memo, dict) or not all(isinstance(key, str) for key in memo):
        raise PayloadError("memo", f"must be a dict with str keys, got {memo!r:.80}")
    check_payload(memo, "memo", max_bytes=max_payload_bytes)
    return memo


class Starts:
    def __init__(
        self,
        table: RunTable,
        residency: Residency,
        store: EventStore,
        spawn_lane: Lane,
        host: RunHost,
        lend: Lend | None = None,
    ) -> None:
        self._table = table
        self._residency = residency
        self._store = store
        #: where the actors of runs started by waiting callers are spawned (see `spawning`)
        self._spawner = Spawner(residency.spawn, spawn_lane)
        #: a lone start's first turn in its caller's thread (`lending`)
        self._lender = OpeningLender(lend)
        #: runs whose code waits for a queue's slot: recorded without an actor
        self._holding = Holding(table, residency, host)

    def create(
        self,
        definition: WorkflowDefinition,
        new: Sequence[NewRun],
        *,
        refuse_open: bool,
        wait: bool = True,
        policy: StartPolicy | None = None,
    ) -> list[Started]:
        """Start `new` runs of `definition`; one outcome per run, in order.

        With `refuse_open`, a workflow_id that has an open run raises
        `WorkflowAlreadyStarted` before anything is written, and none starts.
        Without `wait`, the outcome of a run whose actor was started is True
        at once, and a failure to commit its start is only logged: an actor
        starting a child (or its successor) must not wait for another actor
        of the same dispatcher — a few such waits would take every thread.
        A start `policy` decides first, under the run table's lock: a run it hands
        back instead is that run's outcome (its key).
        """
        entries = self._reserve_all(definition, new, refuse_open, policy)
        reserved = [e if isinstance(e, RunEntry) else None for e in entries]
        outcomes = self.launch(definition, new, reserved, wait=wait)
        return [e if isinstance(e, RunKey) else o for e, o in zip(entries, outcomes, strict=True)]

    def begin(self, definition: WorkflowDefinition, new: Sequence[NewRun]) -> list[Ack | None]:
        """Start `new` runs as `create` does (refusing a workflow_id with an open run) but
        wait for nothing: each run's `Ack` resolves once its start is committed (None:
        withdrawn meanwhile). For callers that must not block (`aion_actors.aio`)."""
        entries = self._reserve_all(definition, new, True, None)
        return self._admit(
            definition, new, [e if isinstance(e, RunEntry) else None for e in entries], False
        )

    def _reserve_all(
        self,
        definition: WorkflowDefinition,
        new: Sequence[NewRun],
        refuse_open: bool,
        policy: StartPolicy | None,
    ) -> list[RunEntry | RunKey | None]:
        if len(new) == 1:  # one run: decided once reserved, no batch for others to wait on
            return [self._reserve(definition, new[0], refuse_open, None, policy)]
        decided = Latch()
        entries: dict[int, RunEntry | RunKey | None] = {}
        try:
            # in workflow_id order: a batch waits only for batches holding lower ids,
            # so batches waiting for one another form no circle
            for index in sorted(range(len(new)), key=lambda i: new[i].workflow_id):
                run = new[index]
                entries[index] = self._reserve(definition, run, refuse_open, decided, policy)
        except BaseException:
            for entry in entries.values():
                if isinstance(entry, RunEntry):
                    self._withdraw(entry.key)
            raise
        finally:
            decided.set()
        return [entries[i] for i in range(len(new))]

    def _reserve(
        self,
        definition: WorkflowDefinition,
        run: NewRun,
        refuse_open: bool,
        decided: Latch | None,
        policy: StartPolicy | None,
    ) -> RunEntry | RunKey | None:
        """Reserve `run` (its batch undecided until `decided` is set; None: a lone run,
        decided at once); without a `policy`, under the lock `reserve` takes itself."""
        key, table = run.key, self._table
        args = (key, definition.name, definition.version, run.parent)
        while True:
            try:
                if policy is None:
                    return table.reserve(*args, refuse_open=refuse_open, batch=decided)
                with table.lock(run.workflow_id):
                    found = policies.existing(table, key, policy, self._latest)
                    if found is not None:
                        return found
                    return table.reserve(*args, refuse_open=refuse_open, batch=decided)
            except Undecided as undecided:  # another batch decides in microseconds
                undecided.decided.wait()

    def _latest(self, workflow_id: str) -> RunSummary | None:
        return self._store.latest_run(workflow_id)

    def launch(
        self,
        definition: WorkflowDefinition,
        new: Sequence[NewRun],
        entries: Sequence[RunEntry | None],
        *,
        wait: bool = True,
    ) -> list[Started]:
        """Start an actor for each reserved run (its entry) and wait until each has
        committed its opening (unless not `wait`): its `WorkflowStarted` together
        with what its workflow does first, in one commit. So a run is written by
        its actor from its first event on, and a workflow's first step costs no
        commit of its own. A caller among others hands its spawns to the spawn lane
        (`spawning`); a lone caller's lone run may take its first turn in the caller's
        thread, which would only sleep meanwhile (`lending`): it has run when `admit`
        returns, before the wait."""
        if not wait:
            return [e is not None for e in self._admit(definition, new, entries, False)]
        crowded = self._spawner.starting()
        try:
            if crowded:
                acks = self._admit(definition, new, entries, True, here=False)
            else:
                admit = lambda: self._admit(definition, new, entries, True)  # noqa: E731
                acks = self._lender.admit(admit, runs=len(new), wait=True)
            return _waited(acks)
        finally:
            self._spawner.started()

    def _admit(
        self,
        definition: WorkflowDefinition,
        new: Sequence[NewRun],
        entries: Sequence[RunEntry | None],
        wait: bool,
        *,
        here: bool = True,
    ) -> list[Ack | None]:
        """Hand each reserved run its opening and start its actor: in this thread if
        `here`, else on the spawn lane, which then builds the opening too (a held one is
        recorded without an actor, see `holding`, in the caller's thread if it `wait`s);
        the acks to wait on."""
        acks: list[Ack | None] = []
        for run, entry in zip(new, entries, strict=True):
            if entry is None:
                acks.append(None)
                continue
            ack = Ack()
            acks.append(ack)
            if (
                here
                or run.after
                or not self._spawner.hand_over(self._open_on_lane, definition, run, entry.key, ack)
            ):
                self._open(definition, run, entry.key, ack, wait, here=here)
        return acks

    def _open(
        self,
        definition: WorkflowDefinition,
        run: NewRun,
        key: RunKey,
        ack: Ack,
        wait: bool,
        *,
        here: bool,
    ) -> None:
        """Stamp the reserved run's opening, hand it to its entry and spawn its actor (in
        this thread if `here`, else on the lane); `ack` resolves with its commit. An
        opening that cannot be built frees the workflow_id again (nothing was written)."""
        now = self._residency.clock.now_ns()
        try:
            opening: list[ev.Event] = [stamp(_started(definition, run, now), 1, now)]
            if run.signal is not None:
                name, payload = run.signal
                opening.append(stamp(ev.SignalReceived(name=name, payload=payload), 2, now))
            opening += [stamp(e, len(opening) + i + 1, now) for i, e in enumerate(run.after)]
        except BaseException:
            self._withdraw(key)
            raise
        if run.after and held(opening, run.parent):
            self._holding.record(key, opening, ack, inline=wait)
            return
        generation = self._table.admit(key, Handoff(opening, ack))
        if generation is None:  # withdrawn meanwhile
            ack.resolve()
        else:
            self._spawner.spawn(key, generation, here=here)

    def _open_on_lane(
        self, definition: WorkflowDefinition, run: NewRun, key: RunKey, ack: Ack
    ) -> None:
        """`_open` on the spawn lane, for a caller that waits for `ack`: whatever fails
        before its actor takes the start resolves it (the caller raises it), else it
        would wait for ever."""
        try:
            self._open(definition, run, key, ack, True, here=True)
        except BaseException as exc:
            ack.resolve(exc)
            raise

    def _withdraw(self, key: RunKey) -> None:
        self._residency.refuse(key, self._table.withdraw(key))


def _waited(acks: Sequence[Ack | None]) -> list[Started]:
    """Each run's outcome once its ack is resolved (None: it was not admitted)."""
    outcomes: list[Started] = []
    for waiting in acks:
        if waiting is None:
            outcomes.append(False)
            continue
        try:
            waiting.wait()
        except SequenceConflict:  # the run already existed: nothing was written
            outcomes.append(False)
        except BaseException as exc:
            outcomes.append(exc)
        else:
            outcomes.append(True)
    return outcomes


def _started(definition: WorkflowDefinition, run: NewRun, now: int) -> ev.WorkflowStarted:
    execution_deadline, run_deadline = run.timeouts.deadlines(now)
    return ev.WorkflowStarted(
        workflow_type=definition.name,
        input=list(run.args),
        run_id=run.run_id,
        version=definition.version,
        parent=run.parent,
        execution_deadline=execution_deadline,
        run_deadline=run_deadline,
        run_timeout=run.timeouts.run_timeout,
        memo=run.memo,
        continued_from=run.continued_from,
    )
