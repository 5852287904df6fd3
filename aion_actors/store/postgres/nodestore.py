"""`NodeStore`: the `PostgresStore` of one node among several engines sharing a store.

A node owns partitions through leases (see `_leases`); its `Fence` holds the
epoch of each one it owns. Every append and timer write checks, in its own
transaction, that its partitions are still this node's at those epochs, and
refuses the requests of a partition that moved with `OwnershipLost` —
atomically: nothing of a refused request is written. `open_runs` and the
due timers are those of owned partitions only; every other read is global.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aion_actors.core import AionError, ConfigError, OwnershipLost
from aion_actors.store import _projection as proj
from aion_actors.store.postgres import _leases, _owned, _requests
from aion_actors.store.postgres._appends import Batch, Results
from aion_actors.store.postgres._connect import unreachable
from aion_actors.store.postgres._consuming import Consuming
from aion_actors.store.postgres._leases import Lease as Lease
from aion_actors.store.postgres._owner import pid_alive  # for the lease thread
from aion_actors.store.postgres._schema import partition_of
from aion_actors.store.postgres.store import PostgresStore
from aion_actors.store.protocol import DueTimer, RunSummary

_FAR = (1 << 64) - 1
#: the epoch of a partition this node does not hold (no lease row has it)
NOT_HELD = -1
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """Who this node is and how long its leases last (seconds)."""

    node_id: str
    lease: float = 10.0
    renew_every: float = 3.0

    @classmethod
    def of(
        cls, node_id: str | None, lease: float | None = None, renew_every: float | None = None
    ) -> NodeSettings:
        """Checked settings; a generated node id (host, pid, a random tail) when None."""
        if node_id is None:
            node_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        if not isinstance(node_id, str) or not node_id.strip() or len(node_id) > 200:
            raise ConfigError(f"node_id {node_id!r} is invalid: give a non-empty string")
        lease = 10.0 if lease is None else lease
        renew_every = min(3.0, lease / 3) if renew_every is None else renew_every
        for name, value in (("lease", lease), ("renew_every", renew_every)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"node option {name}={value!r} is invalid: seconds > 0")
        if renew_every >= lease:
            raise ConfigError(
                f"renew_every={renew_every} must be shorter than lease={lease}: a lease renewed "
                "no sooner than it expires is lost between renewals"
            )
        return cls(node_id, float(lease), float(renew_every))


class Fence:
    """The partitions this node holds and their epochs: changed by its lease manager,
    read by every write of its store. `on_lost` hears of each refused partition."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._lock = threading.Lock()
        self._held: dict[int, int] = {}
        self.on_lost: Callable[[OwnershipLost], None] = lambda lost: None

    def held(self) -> dict[int, int]:
        with self._lock:
            return dict(self._held)

    def epoch(self, partition: int) -> int:
        """The epoch `partition` is held at (`NOT_HELD`)."""
        with self._lock:
            return self._held.get(partition, NOT_HELD)

    def hold(self, claimed: dict[int, int]) -> None:
        with self._lock:
            self._held.update(claimed)

    def let_go(self, partitions: Iterable[int]) -> dict[int, int]:
        """Stop holding `partitions`; the epochs they were held at."""
        with self._lock:
            return {p: self._held.pop(p) for p in list(partitions) if p in self._held}

    def refused(self, found: dict[int, tuple[str | None, int]]) -> dict[int, OwnershipLost]:
        """Of the lease rows `found` (owner, epoch), those this node may not write under."""
        with self._lock:
            held = dict(self._held)
        lost = {}
        for partition, (owner, epoch) in found.items():
            mine = held.get(partition)
            if owner != self.node_id or mine != epoch:
                lost[partition] = OwnershipLost(partition, self.node_id, mine, epoch, owner)
        self.let_go(error.partition for error in lost.values() if error.held_epoch is not None)
        for error in lost.values():  # its runs leave this node (see `Node`)
            self.on_lost(error)
        return lost


class NodeStore(PostgresStore):
    """A `PostgresStore` whose writes are fenced by the leases of node `settings.node_id`."""

    _shared_lock = True

    def __init__(self, url: str, settings: NodeSettings, **options: Any) -> None:
        self.application_name = f"aion-actors node {settings.node_id}"[:63]
        super().__init__(url, **options)
        self.settings = settings
        self.fence = Fence(settings.node_id)
        #: the calls of other nodes applied here, and the watches of runs held here
        self._consuming = Consuming()
        self._consumed = self._consume_requests
        try:
            self._with_conn(self._prepare_nodes)
        except BaseException:
            self.close()
            raise

    def _prepare_nodes(self, conn: Any) -> None:
        with conn.transaction():
            _leases.ensure_nodes(conn, self.target.schema)
            _requests.ensure(conn, self.target.schema)

    # -- fencing (inside the write's transaction)

    def _fenced(
        self, conn: Any, prepared: list[proj.Prepared | AionError]
    ) -> list[proj.Prepared | AionError]:
        written = [p for p in prepared if isinstance(p, proj.Prepared)]
        of = {p.workflow_id: partition_of(p.workflow_id, self.partitions) for p in written}
        if not of:
            return prepared
        found = _leases.fence(conn, self.target.schema, sorted(set(of.values())))
        lost = self.fence.refused(found)
        if not lost and all(p.epoch in (None, _epoch(found, of[p.workflow_id])) for p in written):
            return prepared
        return [self._refused(p, of, found, lost) for p in prepared]

    def _refused(
        self,
        p: proj.Prepared | AionError,
        of: dict[str, int],
        found: dict[int, tuple[str | None, int]],
        lost: dict[int, OwnershipLost],
    ) -> proj.Prepared | AionError:
        """`p`, or why it may not be written: its partition is lost, or it was made under
        an earlier tenure of it (the partition left this node and came back: a new run
        incarnation, recovered from the store since, is its one writer now)."""
        if not isinstance(p, proj.Prepared):
            return p
        partition = of[p.workflow_id]
        if partition in lost:
            return _again(lost[partition])
        owner, epoch = found.get(partition, (None, NOT_HELD))
        if p.epoch not in (None, epoch):
            held = None if p.epoch == NOT_HELD else p.epoch
            return OwnershipLost(partition, self.fence.node_id, held, epoch, owner)
        return p

    def epoch_of(self, workflow_id: str) -> int:
        """The epoch this node holds `workflow_id`'s partition at now (`NOT_HELD`): what a
        writer made now carries (`AppendRequest.epoch`)."""
        return self.fence.epoch(partition_of(workflow_id, self.partitions))

    def _fence_one(self, conn: Any, workflow_id: str) -> None:
        partition = partition_of(workflow_id, self.partitions)
        lost = self.fence.refused(_leases.fence(conn, self.target.schema, [partition]))
        if lost:
            raise lost[partition]

    # -- calls of other nodes (see `_requests`, `aion_actors.nodes.applier`)

    def put_requests(
        self,
        rows: list[tuple[str, int, bytes]],
        *,
        reply: bool = True,
        within: float | None = None,
    ) -> None:
        """Record calls for runs of other nodes' partitions, durably, and announce them
        (`reply` False: their caller waits for no answer, none is recorded); while the
        store is unreachable, retried for at most `within` seconds (the caller's timeout)."""
        s = self.target.schema
        node_id = self.settings.node_id if reply else _requests.NO_REPLY
        self._writing(lambda conn: _requests.put(conn, s, node_id, rows), within=within)

    def pending_requests(self, partitions: list[int]) -> list[tuple[str, int, bytes]]:
        return self._read(lambda conn, s: _requests.pending(conn, s, partitions))

    def applying(self, request_id: str, event: tuple[str, str, str] | None) -> None:
        """Request `request_id` is being applied: the append of its event (`event` when
        that event names no request id) deletes its row, in the same transaction."""
        self._consuming.applying(request_id, event)

    def applied(self, request_id: str, event: tuple[str, str, str] | None) -> bool:
        """Done applying: whether an append deleted its row."""
        return self._consuming.applied(request_id, event)

    def watching(
        self, request_id: str, run: tuple[str, str], *, stop: bool = False, parks: bool = False
    ) -> None:
        """Request `request_id` waits for `run` to close (or, `parks`, to park): the append
        that closes (parks) it answers it (`stop`: no longer). Returns once no append
        closing or parking `run` is in flight, so a read of the run after this sees
        whether it closed (parked)."""
        if stop:
            self._consuming.unwatch(request_id, run)
        else:
            self._consuming.watch(request_id, run, parks=parks)

    def _consume_requests(
        self,
        conn: Any,
        written: list[proj.Prepared],
        closed: list[tuple[str, str]],
        parked: list[tuple[str, str]],
    ) -> None:
        """In an append's transaction: the requests it applies, the watches of the runs it
        closes, and the watches of a park of those it leaves parked, are answered by it
        (one statement; none when nobody waits)."""
        if ids := self._consuming.consume(written, closed, parked):
            _requests.consume(conn, self.target.schema, ids)

    def _commit(self, batch: Batch) -> Results:
        committed = False
        try:
            results = super()._commit(batch)
            committed = True
            return results
        finally:  # (a failed attempt consumed nothing: its retry does)
            self._consuming.ended(committed)

    def answer_request(self, request_id: str, workflow_id: str, data: bytes) -> bool:
        """Record the answer to a request of `workflow_id` and delete it (fenced: only the
        partition's owner answers); False if it was answered before."""
        s = self.target.schema
        return self._writing(lambda conn: _requests.answer(conn, s, request_id, data), workflow_id)

    def withdraw_request(self, request_id: str) -> None:
        """A request its caller no longer waits for (a watch that timed out)."""
        s = self.target.schema
        self._writing(lambda c: c.execute(f"DELETE FROM {s}.requests WHERE id = %s", (request_id,)))

    def announce(self, channel: str, payload: str, *, within: float | None = None) -> None:
        """NOTIFY `channel`; `within`: give up after that many seconds (default: the
        store's retry window)."""
        notify = "SELECT pg_notify(%s, %s)"
        self._writing(lambda conn: conn.execute(notify, (channel, payload)), within=within)

    def take_answer(self, request_id: str) -> tuple[bool, bytes | None]:
        s = self.target.schema
        return self._writing(lambda conn: _requests.take_answer(conn, s, request_id))

    # -- reads of the owned partitions

    def _owned(self) -> list[int]:
        return sorted(self.fence.held())

    def open_runs(self) -> list[RunSummary]:
        owned = self._owned()
        return self._read(lambda conn, s: _owned.open_runs(conn, s, owned)) if owned else []

    def every_open_run(self) -> list[RunSummary]:
        """The open runs of every partition, whichever node owns it."""
        return super().open_runs()

    def due_timers(self, as_of: int, limit: int | None = None) -> list[DueTimer]:
        owned = self._owned()
        return self._read(lambda conn, s: _owned.due(conn, s, as_of, limit, owned)) if owned else []

    def next_timer(self) -> DueTimer | None:
        found = self.due_timers(_FAR, 1)
        return found[0] if found else None

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions that left this node: what it knew of their runs' timers is stale —
        also what a commit in doubt would teach it once settled (the write lock waits for
        a write running now, not for one waiting out an outage: see `PostgresStore`)."""
        gone = set(partitions)
        with self._write_lock:
            doubted = self._in_doubt.timers.after if self._in_doubt is not None else {}
            for known in (self._armed, doubted):
                for run in [r for r in known if partition_of(r[0], self.partitions) in gone]:
                    del known[run]

    def lease_table(self) -> LeaseTable:
        """A connection of its own for the lease manager (never waits for the pool)."""
        return LeaseTable(self)


def _epoch(found: dict[int, tuple[str | None, int]], partition: int) -> int:
    """The epoch of `partition`'s lease as the fence read it (`NOT_HELD`: no lease)."""
    return found.get(partition, (None, NOT_HELD))[1]


def _again(error: OwnershipLost) -> OwnershipLost:
    """A fresh error per refused request (each is raised in its own caller's thread)."""
    return OwnershipLost(error.partition, error.node_id, error.held_epoch, error.epoch, error.owner)


class LeaseTable:
    """The node registry and the lease rows, on one autocommit connection that is made
    again after it broke; a database it cannot reach raises `StoreUnavailable`."""

    def __init__(self, store: NodeStore) -> None:
        self._store = store
        self._conn: Any = None
        self.node_id = store.settings.node_id
        self.host, self.pid = socket.gethostname(), os.getpid()

    def _call(self, work: Callable[[Any, str], _T]) -> _T:
        psycopg = self._store._psycopg  # noqa: SLF001 - the store's driver module, shared
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self._store.target.conninfo, autocommit=True, connect_timeout=5
                )
            return work(self._conn, self._store.target.schema)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self.close()
            raise unreachable(self._store.target, exc) from None

    def join(self, ttl_ns: int) -> _leases.NodeRow | None:
        """Register; the live node already registered under this id, if any."""
        return self._call(
            lambda c, s: _leases.join(c, s, self.node_id, self.host, self.pid, ttl_ns)
        )

    def heartbeat(self, ttl_ns: int) -> None:
        self._call(lambda c, s: _leases.heartbeat(c, s, self.node_id, self.host, self.pid, ttl_ns))

    def state(self) -> tuple[list[_leases.NodeRow], list[_leases.Lease], int]:
        return self._call(lambda c, s: (_leases.nodes(c, s), _leases.leases(c, s), _leases.now(c)))

    def renew(self, held: dict[int, int], lease_ns: int) -> set[int]:
        return self._call(lambda c, s: _leases.renew(c, s, self.node_id, held, lease_ns))

    def claim(self, partitions: list[int], lease_ns: int) -> dict[int, int]:
        return self._call(lambda c, s: _leases.claim(c, s, self.node_id, partitions, lease_ns))

    def release(self, held: dict[int, int]) -> None:
        self._call(lambda c, s: _leases.release(c, s, self.node_id, held))

    def bury_dead_here(self) -> list[str]:
        """Nodes registered from this host whose process is gone (a killed engine
        reopened): forgotten, their leases expired at once; returns their ids."""
        nodes = self._call(lambda c, s: _leases.nodes(c, s))
        dead = [
            n.node_id
            for n in nodes
            if n.host == self.host and n.node_id != self.node_id and not pid_alive(n.pid)
        ]
        if dead:
            self._call(lambda c, s: _leases.bury(c, s, dead))
        return dead

    def leave(self) -> None:
        self._call(lambda c, s: _leases.leave(c, s, self.node_id, self.host, self.pid))

    def sweep_answers(self, older_than_ns: int) -> int:
        """Answers no caller will take (see `_requests.sweep`)."""
        return self._call(lambda c, s: _requests.sweep(c, s, older_than_ns))

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def owner_of(store: PostgresStore, partition: int) -> str | None:
    """The node that owns `partition` now (None: free, or a store made before nodes)."""
    found = store._read(lambda conn, s: _leases.leases(conn, s))  # noqa: SLF001 - a plain read
    return next((lease.owner for lease in found if lease.partition == partition), None)


def cluster(store: PostgresStore) -> tuple[list[_leases.NodeRow], list[_leases.Lease], int]:
    """Every registered node, every lease row, and the server's clock (unix ns)."""

    def read(conn: Any, s: str) -> tuple[list[_leases.NodeRow], list[_leases.Lease], int]:
        return _leases.nodes(conn, s), _leases.leases(conn, s), _leases.now(conn)

    return store._read(read)  # noqa: SLF001 - a plain read
