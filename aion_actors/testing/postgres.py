"""A throwaway PostgreSQL server for tests and benchmarks: the distribution's `initdb` and
`pg_ctl`, a cluster in a temp dir, 127.0.0.1 on a free port, trust auth, fsync on,
commit timestamps kept (`track_commit_timestamp`: tests read when an event committed).

    with ThrowawayServer.start() as server:
        url = server.create_database("t1")   # postgresql://postgres@127.0.0.1:PORT/t1

Run as root, the binaries run as the `postgres` system user (PostgreSQL refuses
root). `find_binaries()` says where they are, or None when this machine has
none (`AION_PG_BIN` names a directory holding them explicitly).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["ThrowawayServer", "find_binaries"]

_USER = "postgres"


def find_binaries() -> Path | None:
    """The directory holding `initdb` and `pg_ctl` (newest version first), or None."""
    given = os.environ.get("AION_PG_BIN")
    candidates = [given] if given else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).parent))
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: the detached deletions of stopped clusters (see `ThrowawayServer._delete`)
_DELETING: list[subprocess.Popen[bytes]] = []


@dataclass
class ThrowawayServer:
    """One running cluster; `stop()` (or leaving its `with`) shuts it down and deletes it."""

    bin_dir: Path
    root: Path
    port: int
    user: str = _USER
    max_connections: int = 300

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    @classmethod
    def start(cls, bin_dir: Path | None = None, *, max_connections: int = 300) -> ThrowawayServer:
        """initdb a fresh cluster in a temp dir and start it; raises RuntimeError if it cannot."""
        bin_dir = bin_dir or find_binaries()
        if bin_dir is None:
            raise RuntimeError(
                "no PostgreSQL binaries (initdb, pg_ctl) found under /usr/lib/postgresql/*/bin "
                "or on PATH; install the postgresql server package or set AION_PG_BIN"
            )
        root = Path(tempfile.mkdtemp(prefix="aion-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, _USER)
        server = cls(bin_dir, root, _free_port(), max_connections=max_connections)
        try:
            server._run("initdb", "-D", str(server.data), "-A", "trust", "-U", _USER, "--no-sync")
            server._up()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def _up(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=on "
            f"-c max_connections={self.max_connections} -c shared_buffers=128MB "
            "-c track_commit_timestamp=on -c log_checkpoints=on"
        )
        self._ctl("start", "-o", options)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The server is down (`pg_ctl stop -m fast`) inside the `with`, up again after
        it — also when the `with` raises. The data stays."""
        self._ctl("stop", "-m", "fast")
        try:
            yield
        finally:
            self._up()

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", _USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stdout}{done.stderr}")

    def _ctl(self, action: str, *args: str) -> None:
        log = str(self.root / "server.log")
        self._run("pg_ctl", action, "-D", str(self.data), "-l", log, "-w", "-t", "60", *args)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the data stays."""
        self._ctl("restart", "-m", "fast")

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def stop(self) -> None:
        """Shut the server down and delete the cluster. `-m immediate`: a `fast` stop
        writes a shutdown checkpoint first (fsync on: every dirty page of every test
        database, 10-20 s at the end of a test session) for data deleted just after."""
        try:
            self._ctl("stop", "-m", "immediate")
        finally:
            self._delete()

    def _delete(self) -> None:
        """Delete the cluster without waiting: a session's (hundreds of databases, each
        with its partitions' files) took 10-20 s to unlink at the end of the test run. It
        is renamed at once (nothing can open it again), then `rm -rf` runs detached."""
        doomed = self.root.with_name(self.root.name + ".deleted")
        try:
            self.root.rename(doomed)
            rm = subprocess.Popen(
                ["rm", "-rf", "--", str(doomed)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            _DELETING.append(rm)  # (kept: not collected, and warned about, while it runs)
        except OSError:  # (no rm, say): as before
            shutil.rmtree(self.root if self.root.exists() else doomed, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
