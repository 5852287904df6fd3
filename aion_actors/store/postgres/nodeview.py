"""What an operator sees of the nodes sharing a PostgreSQL store: the registered nodes, the
partitions each leases (epochs, expiry), and how many open runs each partition holds; and
which node owns one run. Read-only (plain reads in one snapshot), so it works on a
read-only store beside the running nodes (`aion-actors nodes`, `describe`, the dashboard).

Ages and expiries are measured on the database's clock, which the leases use too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aion_actors.store.postgres import _leases
from aion_actors.store.postgres._schema import OPEN_SQL, partition_of
from aion_actors.store.postgres.store import PostgresStore
from aion_actors.store.protocol import EventStore


@dataclass(frozen=True, slots=True)
class PartitionView:
    """One partition's lease: its owner while the lease runs (None: free or expired)."""

    partition: int
    #: the node named in the lease row, even when its lease has expired
    holder: str | None
    epoch: int
    #: seconds until the lease expires (negative: expired); None when never leased or released
    expires_in: float | None
    open_runs: int

    @property
    def owner(self) -> str | None:
        live = self.expires_in is not None and self.expires_in > 0
        return self.holder if live else None


@dataclass(frozen=True, slots=True)
class NodeView:
    """A node: its registry row (None fields when only a lease row names it) and what it owns."""

    node_id: str
    host: str | None
    pid: int | None
    #: seconds since its last heartbeat; None for a node only a lease names
    heartbeat_age: float | None
    alive: bool
    partitions: tuple[PartitionView, ...]

    @property
    def open_runs(self) -> int:
        return sum(p.open_runs for p in self.partitions)


@dataclass(frozen=True, slots=True)
class ClusterView:
    """Every node, every partition, at the database's clock `now` (unix ns)."""

    nodes: tuple[NodeView, ...]
    partitions: tuple[PartitionView, ...]
    now: int

    @property
    def unowned(self) -> tuple[PartitionView, ...]:
        """Partitions no live lease holds: their runs wait for a node to claim them."""
        return tuple(p for p in self.partitions if p.owner is None)


@dataclass(frozen=True, slots=True)
class Ownership:
    """Where one run lives: its partition and the node whose live lease holds it."""

    partition: int
    owner: str | None
    epoch: int


def read_cluster(store: PostgresStore) -> ClusterView:
    """The nodes and leases of `store`, read in one snapshot."""

    def read(conn: Any, s: str) -> ClusterView:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        now = _leases.now(conn)
        registered = _leases.nodes(conn, s)
        rows = conn.execute(
            f"SELECT partition, count(*) FROM {s}.runs WHERE status IN {OPEN_SQL} "
            "GROUP BY partition"
        ).fetchall()
        counts = Counter({int(p): int(n) for p, n in rows})
        leases = [
            _partition(lease, now, counts[lease.partition]) for lease in _leases.leases(conn, s)
        ]
        return ClusterView(_nodes(registered, leases, now), tuple(leases), now)

    return store._read(read)  # noqa: SLF001 - plain reads on the store's pool


def ownership(store: PostgresStore, workflow_id: str) -> Ownership:
    """`workflow_id`'s partition and its owner now (None when no live lease holds it)."""
    partition = partition_of(workflow_id, store.partitions)

    def read(conn: Any, s: str) -> Ownership:
        row = conn.execute(
            f"""SELECT owner, epoch, expires_at > {_leases.NOW} FROM {s}.partitions
            WHERE partition = %s""",
            (partition,),
        ).fetchone()
        if row is None:
            return Ownership(partition, None, 0)
        owner, epoch, live = row
        return Ownership(partition, owner if live else None, int(epoch))

    return store._read(read)  # noqa: SLF001 - a plain read on the store's pool


def ownership_of(store: EventStore, workflow_id: str) -> Ownership | None:
    """`ownership` on a PostgreSQL store; None on any other (one engine owns it all)."""
    return ownership(store, workflow_id) if isinstance(store, PostgresStore) else None


def spans(partitions: Iterable[int]) -> str:
    """Partition numbers as ranges: `0-20, 40, 42-45`; `-` for none."""
    ordered = sorted(set(partitions))
    found: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        found.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(found) or "-"


def _partition(lease: _leases.Lease, now: int, open_runs: int) -> PartitionView:
    expires_in = None if lease.expires_at is None else (lease.expires_at - now) / 1e9
    return PartitionView(lease.partition, lease.owner, lease.epoch, expires_in, open_runs)


def _nodes(
    registered: list[_leases.NodeRow], leases: list[PartitionView], now: int
) -> tuple[NodeView, ...]:
    held: dict[str, list[PartitionView]] = {}
    for lease in leases:
        if lease.holder is not None:
            held.setdefault(lease.holder, []).append(lease)
    found = [
        NodeView(
            n.node_id,
            n.host,
            n.pid,
            (now - n.heartbeat_at) / 1e9,
            bool(n.alive),
            tuple(held.pop(n.node_id, [])),
        )
        for n in registered
    ]
    # a node gone from the registry (it left, or was buried) whose lease rows name it still
    found += [NodeView(node, None, None, None, False, tuple(p)) for node, p in held.items()]
    return tuple(sorted(found, key=lambda n: n.node_id))
