"""Nodes and partition leases in SQL: the node registry, claiming, renewing and releasing
leases, and the fence every write of a node passes in its own transaction.

Times are the server's clock (`clock_timestamp()`, unix ns), so nodes on machines
whose clocks disagree still agree on when a lease expires.

Row locks keep a lease change and a fenced write apart: a write takes `FOR KEY
SHARE` on its partitions' rows; a claim or a release takes `FOR UPDATE` on them
first (so it waits for writes in flight, and a write after it sees the new
epoch), while a renewal, which changes only `expires_at`, waits for nobody.
Every statement locks rows in partition order.

The `nodes` table is created by the first node that joins (`IF NOT EXISTS`), so
stores made before nodes need no migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aion_actors.store.postgres._owner import pid_alive
from aion_actors.store.postgres._schema import lock_key

#: the server's clock as unix ns
NOW: Final = "(extract(epoch from clock_timestamp()) * 1e9)::bigint"


@dataclass(frozen=True, slots=True)
class Lease:
    """One partition's lease row: who owns it, under which epoch, until when (unix ns)."""

    partition: int
    owner: str | None
    epoch: int
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class NodeRow:
    """A node as the registry knows it; `alive` while its heartbeat has not expired."""

    node_id: str
    host: str
    pid: int
    started_at: int
    heartbeat_at: int
    alive: bool


def ensure_nodes(conn: Any, s: str) -> None:
    """Inside a transaction: create the registry if missing. Nodes opening a new store at
    once take the store's creation lock first: two concurrent `CREATE TABLE IF NOT EXISTS`
    of one table may both try to create it, and one fails on a duplicate type name."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(s) + 1,))
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {s}.nodes (
            node_id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL,
            started_at bigint NOT NULL, heartbeat_at bigint NOT NULL,
            expires_at bigint NOT NULL)"""
    )


def has_nodes(conn: Any, s: str) -> bool:
    return conn.execute("SELECT to_regclass(%s)", (f"{s}.nodes",)).fetchone()[0] is not None


def join(conn: Any, s: str, node_id: str, host: str, pid: int, ttl_ns: int) -> NodeRow | None:
    """Register this node; the live node already registered under `node_id`, if any
    (then nothing is written). A registration of this host whose process is gone (the
    node killed, restarted under its id before its heartbeat expired) is no live node:
    it is taken over, as `bury_dead_here` buries the other ids of this host."""
    with conn.transaction():
        row = conn.execute(
            f"""SELECT node_id, host, pid, started_at, heartbeat_at, expires_at > {NOW}
            FROM {s}.nodes WHERE node_id = %s FOR UPDATE""",
            (node_id,),
        ).fetchone()
        live = row is not None and row[5] and (row[1] != host or pid_alive(row[2]))
        if live and (row[1], row[2]) != (host, pid):
            return NodeRow(*row)
        conn.execute(
            f"""INSERT INTO {s}.nodes VALUES (%s, %s, %s, {NOW}, {NOW}, {NOW} + %s)
            ON CONFLICT (node_id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
            started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
            expires_at = excluded.expires_at""",
            (node_id, host, pid, ttl_ns),
        )
    return None


def heartbeat(conn: Any, s: str, node_id: str, host: str, pid: int, ttl_ns: int) -> None:
    conn.execute(
        f"""INSERT INTO {s}.nodes VALUES (%s, %s, %s, {NOW}, {NOW}, {NOW} + %s)
        ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,
        expires_at = excluded.expires_at""",
        (node_id, host, pid, ttl_ns),
    )


def bury(conn: Any, s: str, node_ids: list[str]) -> None:
    """Nodes known dead (their process is gone): forget them and expire their leases now,
    rather than in a lease term (a claim's new epoch fences them off anyway)."""
    with conn.transaction():
        conn.execute(f"DELETE FROM {s}.nodes WHERE node_id = ANY(%s)", (node_ids,))
        conn.execute(
            f"""UPDATE {s}.partitions p SET expires_at = 0
            FROM (SELECT partition FROM {s}.partitions WHERE owner = ANY(%s)
                  ORDER BY partition FOR UPDATE) k WHERE p.partition = k.partition""",
            (node_ids,),
        )


def leave(conn: Any, s: str, node_id: str, host: str, pid: int) -> None:
    """Leave the registry: this process's registration only (one refused at `join`, the
    id being a live node's, must not delete that node's)."""
    conn.execute(
        f"DELETE FROM {s}.nodes WHERE node_id = %s AND host = %s AND pid = %s",
        (node_id, host, pid),
    )


def nodes(conn: Any, s: str) -> list[NodeRow]:
    if not has_nodes(conn, s):
        return []
    rows = conn.execute(
        f"""SELECT node_id, host, pid, started_at, heartbeat_at, expires_at > {NOW}
        FROM {s}.nodes ORDER BY node_id"""
    ).fetchall()
    return [NodeRow(*row) for row in rows]


def now(conn: Any) -> int:
    return int(conn.execute(f"SELECT {NOW}").fetchone()[0])


def leases(conn: Any, s: str) -> list[Lease]:
    rows = conn.execute(
        f"SELECT partition, owner, epoch, expires_at FROM {s}.partitions ORDER BY partition"
    ).fetchall()
    return [Lease(*row) for row in rows]


def claim(conn: Any, s: str, node_id: str, partitions: list[int], lease_ns: int) -> dict[int, int]:
    """Take those of `partitions` that are free, whose lease expired, or that an earlier
    life of this node id held (a claim's new epoch fences that one off), each at its
    next epoch; returns partition -> epoch of those taken."""
    with conn.transaction():
        rows = conn.execute(
            f"""UPDATE {s}.partitions p SET owner = %s, epoch = p.epoch + 1,
                expires_at = {NOW} + %s
            FROM (SELECT partition FROM {s}.partitions WHERE partition = ANY(%s)
                  AND (owner IS NULL OR owner = %s OR expires_at < {NOW})
                  ORDER BY partition FOR UPDATE) k
            WHERE p.partition = k.partition
                AND (p.owner IS NULL OR p.owner = %s OR p.expires_at < {NOW})
            RETURNING p.partition, p.epoch""",
            (node_id, lease_ns, partitions, node_id, node_id),
        ).fetchall()
    return {int(p): int(e) for p, e in rows}


def renew(conn: Any, s: str, node_id: str, held: dict[int, int], lease_ns: int) -> set[int]:
    """Extend the leases this node still holds at the epochs it knows; returns those."""
    if not held:
        return set()
    with conn.transaction():
        rows = conn.execute(
            f"""UPDATE {s}.partitions p SET expires_at = {NOW} + %s
            FROM (SELECT q.partition FROM {s}.partitions q
                  JOIN unnest(%s::int[], %s::int8[]) AS h(p, e) ON q.partition = h.p
                  WHERE q.owner = %s AND q.epoch = h.e
                  ORDER BY q.partition FOR NO KEY UPDATE OF q) k
            WHERE p.partition = k.partition RETURNING p.partition""",
            (lease_ns, list(held), list(held.values()), node_id),
        ).fetchall()
    return {int(p) for (p,) in rows}


def release(conn: Any, s: str, node_id: str, held: dict[int, int]) -> None:
    """Give up leases (after their runs left this node): free at once for another node."""
    if not held:
        return
    with conn.transaction():
        conn.execute(
            f"""UPDATE {s}.partitions p SET owner = NULL, expires_at = NULL
            FROM (SELECT q.partition FROM {s}.partitions q
                  JOIN unnest(%s::int[], %s::int8[]) AS h(p, e) ON q.partition = h.p
                  WHERE q.owner = %s AND q.epoch = h.e ORDER BY q.partition FOR UPDATE OF q) k
            WHERE p.partition = k.partition""",
            (list(held), list(held.values()), node_id),
        )


def fence(conn: Any, s: str, partitions: list[int]) -> dict[int, tuple[str | None, int]]:
    """Inside a write's transaction: the owner and epoch of `partitions`, row-locked so
    no claim or release commits before this transaction ends."""
    rows = conn.execute(
        f"""SELECT partition, owner, epoch FROM {s}.partitions WHERE partition = ANY(%s)
        ORDER BY partition FOR KEY SHARE""",
        (partitions,),
    ).fetchall()
    return {int(p): (owner, int(epoch)) for p, owner, epoch in rows}
