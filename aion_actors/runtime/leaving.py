"""How a run actor leaves, and what becomes of what it holds then.

An incarnation leaves when it is evicted, when its run closes, when the engine
closes, when it crashes, when the store cannot write its batch (it stalls), and
when its run's partition leaves this node (it is dropped). What it was told and
did not record goes to the next incarnation (`Orphans`); a failed append's
requests are kept for it or told why, as `unrecorded` decides; a dropped run's
requests hear `OwnershipLost` — nothing of them recorded here.
"""

from __future__ import annotations

from typing import Any

from aion_actors.core import OwnershipLost, RunKey, StoreUnavailable
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime import unrecorded
from aion_actors.runtime.host import RunHost
from aion_actors.runtime.ledger import Ledger
from aion_actors.runtime.machine import Machine
from aion_actors.runtime.orphans import Orphans
from aion_actors.runtime.update_calls import LiveUpdates
from supervisor import PooledActor


class Leaving(PooledActor):
    """`RunActor`'s leaving (see the module docstring); its state is the actor's."""

    key: RunKey
    run_id: str
    generation: int
    _host: RunHost
    _machine: Machine | None
    _ledger: Ledger
    _head: int
    _outbox: list[ev.Event]
    _start: msg.Ack | None
    _requests: list[msg.Request]
    _following: list[object]
    _inputs: list[object]
    _sent_inputs: list[object]
    _sent: msg.Sent | None
    _dropped: BaseException | None
    _evicting: bool
    _updates: LiveUpdates

    def _orphans(self) -> Orphans:
        return Orphans(self._host, self.key, self.generation, self._dropped)

    def _failed(self, error: BaseException, sent: msg.Sent | None) -> None:
        """Its last append failed with `error`; `sent`: the batch's requests."""
        requests = sent.requests if sent is not None else []
        if self._head == 0:  # the start itself was not recorded: the run never began
            unsent, self._requests = self._requests, []
            for request in [*requests, *unsent]:  # (nor anything after it)
                request.ack.resolve(error)
            self._host.start_failed(self.key, error)
            self._ledger.closed = True
            self.stop()
        elif isinstance(error, StoreUnavailable | OwnershipLost):  # never a crash
            self._stall(error, sent)
        else:
            unrecorded.fail(requests, error)
            raise error

    def _stall(self, error: StoreUnavailable | OwnershipLost, sent: msg.Sent | None) -> None:
        """The store cannot write: no crash, no budget spent. This incarnation's state
        ran ahead of what is recorded, so it leaves; the run waits, holding what it was
        told and the requests whose callers gave up (`unrecorded`), and comes back by
        replay once the store writes again (or, its partition lost, leaves this node:
        see runs/dropping)."""
        requests = sent.requests if sent is not None else []
        kept = unrecorded.fail([*requests, *self._requests], error)
        self._outbox, self._requests = [], []
        self._evicting = True  # whatever arrives now goes where the run table says
        held = [*self._sent_inputs, *self._inputs, *unrecorded.held(kept, sent, error)]
        if not self._host.run_stalled(self.key, self.generation, held):
            self._requests = kept  # dropped meanwhile: they hear why once it is told so
            return
        self.stop()

    def _drop(self, error: BaseException) -> None:
        """Its partition left this node: it records nothing more, and what it took and did
        not record hears `error` — the batch in flight's requests too, should it fail."""
        self._dropped = error
        if self._sent is not None:
            self._sent.dropped = error
        self._evicting = True
        self.stop()

    def on_stop(self) -> None:
        orphans = self._orphans()
        unsent, self._requests = self._requests, []  # taken, never submitted
        for call in [*unsent, *self._updates.left(), *self._following]:  # their callers wait
            orphans.pass_on(call)
        self.seal_inbox(orphans)
        if self._machine is not None:
            self._machine.discard()

    def on_failure(self, *exc_info: Any) -> None:
        """A crash: requests taken but never handed to the recorder go to the next
        incarnation (their events died with this one's state)."""
        orphans = self._orphans()
        unsent, self._requests = self._requests, []
        self._outbox = []
        if self._start is not None:  # crashed before its start was even submitted
            start, self._start = self._start, None
            error = exc_info[1] if isinstance(exc_info[1], BaseException) else None
            error = error or RuntimeError(f"run {self.run_id} crashed")
            self._host.start_failed(self.key, error, start)
        for request in [*unsent, *self._following, *self._updates.left()]:
            orphans.pass_on(request)
        self.seal_inbox(orphans)
