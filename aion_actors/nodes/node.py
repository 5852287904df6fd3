"""`Node`: the engine part that takes, keeps and gives away partitions.

One thread per engine, woken on its schedule (every `renew_every` seconds)
or at once when a write found a partition lost, runs a round:

1. drop the runs of partitions a write found lost (`OwnershipLost`);
2. heartbeat in the node registry, renew the leases held (those not renewed
   were taken: their runs are dropped);
3. compare what it holds with its fair share of the live nodes: give away
   the surplus (drop its runs, then release the leases, so another node takes
   them at once) or claim free and expired leases (epoch + 1), recovering
   each claimed partition's open runs as startup recovery does.

A round that cannot reach the database claims nothing and says so in the
log; once the leases it held have expired by its own clock it drops their
runs too (their new owner's fenced writes win anyway).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from aion_actors.core import (
    AionError,
    ConfigError,
    NotOwner,
    OwnershipLost,
    RunKey,
    new_workflow_id,
)
from aion_actors.nodes.share import fair_share, to_claim, to_release
from aion_actors.runtime.runs import RunManager
from aion_actors.store.postgres import partition_of
from aion_actors.store.postgres.nodestore import Lease, NodeStore, owner_of
from supervisor import bounded

#: an answer nobody took for this long has lost its caller (deleted when partitions move)
ANSWERS_KEPT_NS = 600 * 1_000_000_000

log = logging.getLogger("aion_actors.nodes")

#: tries to draw a fresh workflow_id that falls in a partition this node owns
_FRESH_TRIES = 100_000
#: how long after another node's lease expires the next round looks (clock steps, commit)
_EXPIRY_MARGIN = 0.05


class Node:
    def __init__(self, store: NodeStore, runs: RunManager) -> None:
        self.store = store
        self.settings = store.settings
        self.node_id = store.settings.node_id
        self._runs = runs
        self._fence = store.fence
        self._leases = store.lease_table()
        self._lease_ns = int(self.settings.lease * 1e9)
        self._lock = threading.Lock()
        #: partitions whose runs are recovered here: calls for their runs are served
        self._ready: frozenset[int] = frozenset()
        #: partitions a write found moved on since this node held them: their runs go
        self._lost: dict[int, OwnershipLost] = {}
        #: partitions a write found this node never held: runs of theirs here have no owner
        #: (begun while their partition was given up: after its runs were dropped, before
        #: its lease was let go) and go, unless the partition is held again by then
        self._strays: set[int] = set()
        self._wake = threading.Event()
        self._stopped = False
        self._renewed_at = time.monotonic()
        self._unreachable = False
        self._thread = threading.Thread(target=self._run, name="aion-node", daemon=True)
        self._fence.on_lost = self._heard_lost
        #: told of the partitions this node took, once their runs are recovered
        self.on_taken: Callable[[frozenset[int]], None] = lambda partitions: None

    # -- the gate: calls for runs of partitions this node does not own

    def _partition(self, workflow_id: str) -> int:
        return partition_of(workflow_id, self.store.partitions)

    def owns(self, workflow_id: str) -> bool:
        return self._partition(workflow_id) in self._ready

    def serves(self, partition: int) -> bool:
        """Whether `partition` is this node's and its runs are recovered here."""
        return partition in self._ready

    def served(self) -> list[int]:
        return sorted(self._ready)

    def check(self, workflow_id: str, what: str) -> None:
        """`NotOwner` naming the owner when `workflow_id`'s partition is not this node's."""
        if self.owns(workflow_id):
            return
        partition = self._partition(workflow_id)
        owner = owner_of(self.store, partition)
        raise NotOwner(workflow_id, what, partition, self.node_id, _other(owner, self.node_id))

    def fresh_id(self) -> str:
        """A new workflow_id in a partition this node owns (so a start needs no forwarding)."""
        for _ in range(_FRESH_TRIES if self._ready else 0):
            workflow_id = new_workflow_id()
            if self.owns(workflow_id):
                return workflow_id
        raise NotOwner("(a new id)", "start", -1, self.node_id, None)

    def stats(self) -> dict[str, int]:
        return {"partitions": len(self._ready)}

    # -- lifecycle

    def start(self) -> None:
        """Join the registry, take a first share at once, then keep it in a thread."""
        holder = self._leases.join(self._lease_ns)
        if holder is not None:
            raise ConfigError(
                f"node id {self.node_id!r} is in use by a live node (host {holder.host}, pid "
                f"{holder.pid}) on {self.store.path}; give each engine its own node_id, or "
                "leave it unset for a generated one"
            )
        if dead := self._leases.bury_dead_here():
            log.info(
                "node %s: nodes %s died on this host; their leases end now", self.node_id, dead
            )
        self._round()
        self._thread.start()

    def close(self) -> None:
        """Stop the lease thread (the runs stop next; `leave` then gives the leases up)."""
        self._stopped = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def leave(self) -> None:
        """The engine's runs have stopped: release every lease at once and leave the
        registry, so other nodes take the partitions without waiting for expiry."""
        with self._lock:
            self._ready = frozenset()
        held = self._fence.let_go(self._fence.held())
        try:
            self._leases.release(held)
            self._leases.leave()
            if held:
                log.info("node %s left, releasing %d partitions", self.node_id, len(held))
        except AionError as exc:
            log.warning("node %s could not release its leases (%s); they expire", self.node_id, exc)
        finally:
            self._leases.close()

    # -- the lease thread

    def _heard_lost(self, error: OwnershipLost) -> None:
        """In the writer's thread: a write found `error.partition` not this node's; drop
        its runs soon."""
        with self._lock:
            if error.held_epoch is None:
                self._strays.add(error.partition)
            else:
                self._ready = self._ready - {error.partition}
                self._lost[error.partition] = error
        if error.held_epoch is not None:
            log.warning("%s", error)
        self._wake.set()

    def _run(self) -> None:
        pause = self.settings.renew_every
        while True:
            self._wake.wait(bounded(pause))  # a lease may be years: a round a day then
            self._wake.clear()
            if self._stopped:
                return
            pause = self.settings.renew_every
            try:
                pause = self._round()
            except AionError as exc:
                if not self._unreachable:
                    log.error("node %s: %s; it claims nothing until it can", self.node_id, exc)
                self._unreachable = True
                self._expire_if_stale()
            except Exception:
                log.exception("node %s: a lease round failed; trying again", self.node_id)
                self._expire_if_stale()

    def _round(self) -> float:
        """Renew, give up what is no longer this node's, claim its share; return the
        seconds until the next round: the renewal period, or sooner when another node's
        lease expires first (a dead node's partitions are taken the moment they are free)."""
        self._drop_lost()
        began = time.monotonic()
        self._leases.heartbeat(self._lease_ns)
        held = self._fence.held()
        kept = self._leases.renew(held, self._lease_ns)
        self._renewed_at = began
        if self._unreachable:
            log.warning("node %s reaches the database again", self.node_id)
            self._unreachable = False
        if taken := set(held) - kept:
            self._give_up(taken, "their leases were taken by another node", release=False)
        nodes, leases, now = self._leases.state()
        share = fair_share(self.node_id, [n.node_id for n in nodes if n.alive], len(leases))
        mine = self._fence.held()
        if surplus := to_release(mine, share):
            self._give_up(surplus, "over this node's fair share", release=True)
            return self.settings.renew_every
        free = [
            lease.partition
            for lease in leases
            if lease.partition not in mine
            and (lease.owner in (None, self.node_id) or (lease.expires_at or 0) < now)
        ]
        if wanted := to_claim(len(mine), share, free):
            self._take(self._leases.claim(wanted, self._lease_ns))
        return _until_next(self.settings.renew_every, leases, self.node_id, now)

    def _take(self, claimed: dict[int, int]) -> None:
        if not claimed:
            return
        self._fence.hold(claimed)
        partitions = frozenset(claimed)
        try:
            woken = self._runs.recover(lambda w: self._partition(w) in partitions)
        except Exception:
            log.exception("node %s could not recover partitions %s", self.node_id, sorted(claimed))
            self._give_up(partitions, "their recovery failed", release=True)
            return
        with self._lock:
            self._ready = self._ready | partitions
        log.info("node %s took partitions %s (%d runs woken)", self.node_id, _span(claimed), woken)
        self.on_taken(partitions)
        self._leases.sweep_answers(ANSWERS_KEPT_NS)  # callers may have died with their owner

    def _give_up(self, partitions: Iterable[int], why: str, *, release: bool) -> None:
        """Drop the runs of `partitions`, forget them, and (`release`) free their leases."""
        gone = frozenset(partitions)
        with self._lock:
            self._ready = self._ready - gone
        epochs = self._fence.held()
        dropped = self._runs.drop(lambda w: self._partition(w) in gone, self._moved(epochs))
        held = self._fence.let_go(gone)
        self.store.forget(gone)
        if release:
            self._leases.release(held)
        log.info(
            "node %s gave up partitions %s (%s; %d runs left this node)",
            self.node_id,
            _span(gone),
            why,
            dropped,
        )

    def _moved(self, epochs: dict[int, int]) -> Callable[[RunKey], BaseException]:
        """What a call waiting for a run that leaves is told: its partition is lost to this
        node and nothing of the call was recorded (so a caller here sends it to the new
        owner, see `aion_actors.calls`)."""

        def error(key: RunKey) -> BaseException:
            partition = self._partition(key.workflow_id)
            epoch = epochs.get(partition)
            return OwnershipLost(partition, self.node_id, epoch, epoch or 0, None)

        return error

    def _drop_lost(self) -> None:
        """Give up what the writers reported; a report stays queued until it is acted on
        (a give-up that raises is tried again next round)."""
        with self._lock:
            lost, self._lost = self._lost, {}
            strays, self._strays = self._strays, set()
        try:
            if lost:
                self._give_up(lost, "a write found them owned elsewhere", release=False)
                lost = {}
            if strays := strays - set(self._fence.held()):  # (the take runs on this thread)
                self._give_up(strays, "a run of theirs wrote, not held here", release=False)
        except BaseException:
            with self._lock:
                self._lost = {**lost, **self._lost}
                self._strays |= strays
            raise

    def _expire_if_stale(self) -> None:
        """Leases not renewed for a whole lease term are gone: drop their runs here."""
        if time.monotonic() - self._renewed_at < self.settings.lease:
            return
        held = self._fence.held()
        if held:
            self._give_up(held, "their leases expired unrenewed", release=False)


def _until_next(renew_every: float, leases: Iterable[Lease], node_id: str, now: int) -> float:
    """Seconds to the next round: `renew_every`, or just after the first expiry of a lease
    another node holds (a live node renews long before; a dead one's lease frees then)."""
    others = [
        lease.expires_at
        for lease in leases
        if lease.owner not in (None, node_id) and lease.expires_at and lease.expires_at >= now
    ]
    if not others:
        return renew_every
    return min(renew_every, (min(others) - now) / 1e9 + _EXPIRY_MARGIN)


def _other(owner: str | None, node_id: str) -> str | None:
    return None if owner == node_id else owner


def _span(partitions: Iterable[int]) -> str:
    ordered = sorted(partitions)
    if not ordered:
        return "[]"
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{ordered[0]}-{ordered[-1]}"
    return str(ordered)
