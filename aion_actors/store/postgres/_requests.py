"""Calls between nodes in SQL: durable request rows, answer rows, and their `NOTIFY`s.

A node that does not own a run's partition writes the call as a row of
`requests (id, partition, requester, created_at, data)` and announces it on
the store's one node channel (payload `r <partition>`), in one transaction.
The partition's owner turns each row into the run's event: the row is deleted
in the transaction that appends the event (see `consume`), or — when the call
fails, or its outcome is not an event — in the transaction that records its
`answers (id, requester, created_at, data)` row (`answer`). Either way an
`a <request id>` is announced, on commit, for the requester's listener.

One channel per store (every node listens on it, the partition or request id
in the payload) rather than one per node: a requester need not know the owner,
which may change while the request waits, and a handful of nodes ignore what is
not theirs for less than a second connection each would cost.

The tables are created by the first node (`IF NOT EXISTS`), as `nodes` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aion_actors.store.postgres._leases import NOW

#: the ids of requests start so: the events that apply them carry it (`request_id`)
PREFIX = "node:"
#: the requester of a request whose caller waits for no answer (none is recorded)
NO_REPLY = ""
#: `data` of the answer the append's transaction records: done, as asked
OK = b"\x81\xa1v\x01"  # msgpack {"v": 1}


def channel(schema: str) -> str:
    """The one `LISTEN` channel of a store's nodes."""
    return f"aion_nodes_{schema}"


def ensure(conn: Any, s: str) -> None:
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {s}.requests (
            id text PRIMARY KEY, partition integer NOT NULL, requester text NOT NULL,
            created_at bigint NOT NULL, data bytea NOT NULL)"""
    )
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS requests_by_partition ON {s}.requests (partition, created_at)"
    )
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {s}.answers (
            id text PRIMARY KEY, requester text NOT NULL, created_at bigint NOT NULL,
            data bytea NOT NULL)"""
    )


def put(conn: Any, s: str, requester: str, rows: Sequence[tuple[str, int, bytes]]) -> None:
    """Record `rows` (id, partition, data) and announce their partitions (inside the
    caller's transaction: the announcement goes out on commit). A row whose id is there
    already is left as it is: a write tried again after its commit landed unacknowledged
    records nothing twice."""
    ids, partitions, data = zip(*rows, strict=True)
    conn.execute(
        f"""INSERT INTO {s}.requests (id, partition, requester, created_at, data)
        SELECT k.id, k.p, %s, {NOW}, k.d FROM unnest(%s::text[], %s::int4[], %s::bytea[])
        AS k(id, p, d) ON CONFLICT (id) DO NOTHING""",
        (requester, list(ids), list(partitions), list(data)),
    )
    conn.execute(
        "SELECT pg_notify(%s, 'r ' || p) FROM (SELECT DISTINCT unnest(%s::int4[]) AS p) ps",
        (channel(s), list(partitions)),
    )


def pending(conn: Any, s: str, partitions: Sequence[int]) -> list[tuple[str, int, bytes]]:
    """The requests waiting in `partitions`, oldest first."""
    rows = conn.execute(
        f"""SELECT id, partition, data FROM {s}.requests WHERE partition = ANY(%s)
        ORDER BY created_at, id""",
        (list(partitions),),
    ).fetchall()
    return [(i, p, bytes(d)) for i, p, d in rows]


def consume(conn: Any, s: str, ids: Sequence[str]) -> None:
    """Inside an append's transaction: the requests it applies are done (their rows go,
    an `OK` answer each, announced on commit). One statement."""
    conn.execute(
        f"""WITH done AS (DELETE FROM {s}.requests WHERE id = ANY(%s) RETURNING id, requester),
        answered AS (INSERT INTO {s}.answers (id, requester, created_at, data)
            SELECT id, requester, {NOW}, %s FROM done WHERE requester <> ''
            ON CONFLICT (id) DO NOTHING
            RETURNING id)
        SELECT pg_notify(%s, 'a ' || id) FROM answered""",
        (list(ids), OK, channel(s)),
    )


def answer(conn: Any, s: str, request_id: str, data: bytes) -> bool:
    """Inside a fenced transaction: request `request_id` is done with answer `data`
    (its row goes, the answer is recorded and announced). False if its row was gone."""
    row = conn.execute(
        f"DELETE FROM {s}.requests WHERE id = %s RETURNING requester", (request_id,)
    ).fetchone()
    if row is None:
        return False
    if row[0] == NO_REPLY:
        return True
    conn.execute(
        f"""INSERT INTO {s}.answers (id, requester, created_at, data)
        VALUES (%s, %s, {NOW}, %s) ON CONFLICT (id) DO NOTHING""",
        (request_id, row[0], data),
    )
    conn.execute("SELECT pg_notify(%s, %s)", (channel(s), f"a {request_id}"))
    return True


def sweep(conn: Any, s: str, older_than_ns: int) -> int:
    """Delete the answers nobody will take: of a requester no longer registered (it
    left, or was buried), or older than `older_than_ns`. How many went."""
    cur = conn.execute(
        f"""DELETE FROM {s}.answers WHERE created_at < {NOW} - %s
        OR requester NOT IN (SELECT node_id FROM {s}.nodes)""",
        (older_than_ns,),
    )
    return int(cur.rowcount or 0)


def take_answer(conn: Any, s: str, request_id: str) -> tuple[bool, bytes | None]:
    """(True, data) once request `request_id` is answered (its answer row taken);
    (False, None) while it waits; (True, None) when neither row is left (an answer
    taken before).

    One statement, so one snapshot: read in two, an answer committed between them
    (its request row gone, its answer row not yet seen) read as "taken before" —
    the caller was told success with no value, whatever the owner answered."""
    taken, waiting = conn.execute(
        f"""WITH taken AS (DELETE FROM {s}.answers WHERE id = %s RETURNING data)
        SELECT (SELECT data FROM taken),
               EXISTS (SELECT 1 FROM {s}.requests WHERE id = %s)""",
        (request_id, request_id),
    ).fetchone()
    if taken is not None:
        return True, bytes(taken)
    return not waiting, None
