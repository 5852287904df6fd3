"""One engine per Postgres store: a session-level advisory lock on a connection of its
own, released by the server when the process dies, and an `owner` row naming who holds
it (host, pid) for the next engine's `DataDirLocked`. Nodes (engines sharing the store,
see `nodestore`) hold it shared: they exclude a lone engine, not each other."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any

from aion_actors.core import DataDirLocked
from aion_actors.store.postgres._connect import Target
from aion_actors.store.postgres._schema import lock_key

#: how long a new owner waits for the session of a dead holder on this host to end
_DEAD_HOLDER_WAIT_MS = 15_000


def pid_alive(pid: int | None) -> bool:
    """Whether process `pid` of this host still runs (None or 0: no process)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StoreLocked(DataDirLocked):
    """`DataDirLocked` of a PostgreSQL store: held by another engine (or a bare
    `PostgresStore`); the way to several processes on one store is nodes, not a move."""

    def __init__(
        self,
        path: str,
        holder_pid: int | None,
        *,
        in_this_process: bool = False,
        holder_host: str | None = None,
    ) -> None:
        super().__init__(path, holder_pid, in_this_process=in_this_process, holder_host=holder_host)
        nodes = (
            "engines that share one PostgreSQL store are nodes: open each with node_id= "
            '(see README "Running several replicas")'
        )
        if in_this_process:
            self.args = (
                f"the PostgreSQL store {path} is already held by another PostgresStore in "
                "this process (an Engine's, or one opened directly): close it first, or "
                f"reuse it instead of opening a second one; {nodes}",
            )
            return
        self.args = (
            f"the PostgreSQL store {path} is held by {self.holder} (an Engine or a "
            "PostgresStore); stop it or close that store first, or open it read-only for "
            f"inspection; {nodes}",
        )


class Owner:
    """Holds the store's advisory lock; `ensure()` takes it again after the server restarted."""

    def __init__(self, psycopg: Any, target: Target, *, shared: bool = False) -> None:
        self._psycopg = psycopg
        self._how = "_shared" if shared else ""
        self._target = target
        self._lock = threading.Lock()
        self._conn: Any = None

    def take(self) -> None:
        """Take the lock (connecting if needed); `DataDirLocked` naming the holder if taken."""
        with self._lock:
            if self._conn is not None and not self._conn.closed and not self._broken():
                return
            self._drop()
            host, pid = socket.gethostname(), os.getpid()
            conn = self._psycopg.connect(
                self._target.conninfo,
                autocommit=True,
                application_name=f"aion-actors owner {host} pid {pid}",
            )
            s = self._target.schema
            try:
                got = conn.execute(
                    f"SELECT pg_try_advisory_lock{self._how}(%s)", (lock_key(s),)
                ).fetchone()[0]
                row = None if got else self._holder(conn)
                holder_host, holder_pid = row if row else (None, None)
                if not got and holder_host == host and not pid_alive(holder_pid):
                    got = self._outwait(conn)
                if not got:
                    here = (holder_host, holder_pid) == (host, pid)
                    raise StoreLocked(
                        self._target.where,
                        holder_pid,
                        in_this_process=here,
                        holder_host=holder_host,
                    )
                if self._how:  # nodes: no lone engine holds it; their `nodes` rows name them
                    conn.execute(f"DELETE FROM {s}.owner")
                    self._conn = conn
                    return
                conn.execute(
                    f"""INSERT INTO {s}.owner VALUES (1, %s, %s, %s) ON CONFLICT (id)
                    DO UPDATE SET host = excluded.host, pid = excluded.pid,
                    since = excluded.since""",
                    (host, pid, time.time_ns()),
                )
            except BaseException:
                conn.close()
                raise
            self._conn = conn

    def _holder(self, conn: Any) -> tuple[str, int] | None:
        """Who holds the lock: the lone engine's `owner` row, else a live node's."""
        s = self._target.schema
        row = conn.execute(f"SELECT host, pid FROM {s}.owner").fetchone()
        if row is None and conn.execute("SELECT to_regclass(%s)", (f"{s}.nodes",)).fetchone()[0]:
            row = conn.execute(
                f"SELECT host, pid FROM {s}.nodes ORDER BY heartbeat_at DESC LIMIT 1"
            ).fetchone()
        return (row[0], row[1]) if row else None

    def _outwait(self, conn: Any) -> bool:
        """The holder died on this host; its server session ends once the server notices
        the closed socket, which takes a moment: wait for the lock (blocking, bounded)."""
        try:
            conn.execute(f"SET lock_timeout = '{_DEAD_HOLDER_WAIT_MS}ms'")
            conn.execute(
                f"SELECT pg_advisory_lock{self._how}(%s)", (lock_key(self._target.schema),)
            )
        except self._psycopg.errors.LockNotAvailable:
            return False
        finally:
            conn.execute("RESET lock_timeout")
        return True

    def _broken(self) -> bool:
        try:
            self._conn.execute("SELECT 1")
        except self._psycopg.Error:
            return True
        return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        with self._lock:
            self._drop()  # closing the session releases its advisory lock
