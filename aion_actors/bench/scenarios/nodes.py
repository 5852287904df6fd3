"""``nodes``: several engine processes on one PostgreSQL store, each a node.

- **workflows/s with 1 and 2 nodes**: each node process (see `_nodes_engine`) starts
  three-activity workflows from ``clients`` threads, each in one of its own partitions
  (no call forwarded), and awaits them; workflows/s is all completed over the slowest
  node's time. Meanwhile a sampler reads ``pg_stat_activity`` every 0.1 s (how many
  backends are busy, on what they wait) and the CPU seconds of the node processes and of
  the PostgreSQL server's processes (`/proc/<pid>/stat`), reported as cores busy:
  which of the database, the engines and the round trips bounds the figure.
- **failover**: two nodes; the victim starts ``failover_runs`` runs (an activity, a
  timer of ``nap`` s, an activity) in its partitions and is SIGKILLed once they are
  committed; ``failover_s`` is the time from the kill until the survivor has completed
  them all (its lease expiry, taking the partitions by replay, finishing the runs),
  against the target lease + 5 s; ``failover_takeover_s`` the part until the survivor
  held every partition. Then every history is checked: events contiguous, each
  activity completed once at most, the run completed — a duplicate fails the scenario.

The ceiling is ``pg_commit_rate`` on the same server. A fresh database per measurement,
on the server ``url`` names or a throwaway one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

from aion_actors.bench import pg
from aion_actors.bench.harness import Figure, HarnessError, Params, Report, scenario
from aion_actors.core import events as ev
from aion_actors.store.postgres import PostgresStore
from aion_actors.store.postgres._connect import psycopg_modules
from aion_actors.testing.postgres import find_binaries

_ROOT = Path(__file__).resolve().parents[3]  # the directory that holds aion_actors/
_TICKS = os.sysconf("SC_CLK_TCK")


@scenario(
    "nodes",
    help="workflows/s with 1 and 2 node processes on Postgres; failover time after a SIGKILL",
    defaults={
        "workflows": 2000,
        "clients": 64,
        "failover_runs": 1000,
        "nap": 1.0,
        "lease": 10.0,
        "url": "",
    },
    quick={"workflows": 200, "failover_runs": 100, "lease": 2.0, "clients": 8},
    repeat=3,
)
def run(params: Params) -> Report:
    if not params["url"] and find_binaries() is None:
        raise HarnessError(
            "nodes needs PostgreSQL: --set url=postgresql://USER@HOST/DB (a user that may "
            "create databases), or install the server (initdb and pg_ctl under "
            "/usr/lib/postgresql/*/bin, or set AION_PG_BIN) for a throwaway one"
        )
    lease = float(params["lease"])
    with pg.server(str(params["url"])) as databases:
        ceiling = pg.commit_rate(databases.new(), 0.5)
        figures, series = [ceiling], {}
        for count in (1, 2):
            measured, waits = _throughput(databases.new(), count, params)
            series[f"pg_wait_events_{count}_nodes"] = waits
            figures += measured
        figures += _failover(databases.new(), params, lease)
    return Report(figures=figures, series=series)


class _Node:
    """A node process and its command pipe."""

    def __init__(self, url: str, node_id: str, lease: float, share: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aion_actors.bench.scenarios._nodes_engine",
                url,
                node_id,
                str(lease),
                str(share),
            ],
            cwd=_ROOT,
            start_new_session=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        return self.process.stdin, self.process.stdout

    def send(self, **order: Any) -> None:
        stdin, _ = self._pipes()
        stdin.write(json.dumps(order) + "\n")
        stdin.flush()

    def answer(self) -> dict[str, Any]:
        _, stdout = self._pipes()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"node process {self.process.pid} died (exit {self.process.wait()})")
        found: dict[str, Any] = json.loads(line)
        return found

    def close(self) -> None:
        if self.process.poll() is None:
            self.send(cmd="exit")
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _nodes(url: str, count: int, lease: float) -> list[_Node]:
    nodes = [_Node(url, f"n{i}", lease, 64 // count + (i < 64 % count)) for i in range(count)]
    for node in nodes:
        node.answer()  # ready: it holds its share
    return nodes


def _throughput(url: str, count: int, params: Params) -> tuple[list[Figure], list[dict[str, Any]]]:
    runs, clients = int(params["workflows"]), int(params["clients"])
    nodes = _nodes(url, count, float(params["lease"]))
    try:
        sampler = _Sampler(url, [n.process.pid for n in nodes])
        began = time.perf_counter()
        for node in nodes:
            node.send(cmd="throughput", runs=runs // count, clients=clients)
        elapsed = max(node.answer()["elapsed"] for node in nodes)
        wall = time.perf_counter() - began
        sampled = sampler.stop(wall)
    finally:
        for node in nodes:
            node.close()
    labels: dict[str, str | int | float] = {"nodes": count, "clients": clients}
    done = runs // count * count
    figures = [
        Figure(
            f"workflows_per_s_{count}_node{'s' if count > 1 else ''}",
            done / elapsed,
            "workflows/s",
            labels=labels,
            ceiling="pg_commit_rate",
        ),
        *(
            Figure(f"{what}_cpu_cores_{count}", cores, "cores", better="lower", labels=labels)
            for what, cores in (("engine", sampled["engine_cores"]), ("pg", sampled["pg_cores"]))
        ),
        *(
            Figure(
                f"{what}_cpu_ms_per_workflow_{count}",
                cores * wall / done * 1000,
                "ms",
                better="lower",
                labels=labels,
            )
            for what, cores in (("engine", sampled["engine_cores"]), ("pg", sampled["pg_cores"]))
        ),
        Figure(
            f"pg_busy_backends_{count}", sampled["busy"], "backends", better="lower", labels=labels
        ),
    ]
    return figures, sampled["waits"]


def _failover(url: str, params: Params, lease: float) -> list[Figure]:
    runs, nap = int(params["failover_runs"]), float(params["nap"])
    victim, survivor = _nodes(url, 2, lease)
    try:
        victim.send(cmd="hold", runs=runs, nap=nap)
        ids = victim.answer()["ids"]
        victim.kill()
        killed = time.time()
        survivor.send(cmd="await", ids=ids, share=64)
        done = survivor.answer()
        _check(url, ids)
    finally:
        victim.kill()
        survivor.close()
    labels: dict[str, str | int | float] = {"runs": runs, "lease_s": lease, "nap_s": nap}
    return [
        Figure(
            "failover_s",
            done["done_at"] - killed,
            "s",
            better="lower",
            labels=labels,
            target=lease + 5,
        ),
        # of which: until the survivor held every partition (lease expiry, then its round)
        Figure("failover_takeover_s", done["took_at"] - killed, "s", better="lower", labels=labels),
    ]


def _check(url: str, ids: list[str]) -> None:
    """Every run completed, its events contiguous, no activity completion recorded twice."""
    with PostgresStore(url, readonly=True, pool_size=1) as store:
        for workflow_id in ids:
            run = store.latest_run(workflow_id)
            assert run is not None, workflow_id
            events = store.read(workflow_id, run.run_id)
            if [e.seq for e in events] != list(range(1, len(events) + 1)):
                raise AssertionError(f"{workflow_id}: events not contiguous")
            done = Counter(e.activity_id for e in events if isinstance(e, ev.ActivityCompleted))
            if sorted(done.values()) != [1, 1]:
                raise AssertionError(f"{workflow_id}: activity completions {dict(done)}")
            if not isinstance(events[-1], ev.WorkflowCompleted):
                raise AssertionError(f"{workflow_id}: ended with {events[-1].kind}")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of process `pid`, 0 if it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


class _Sampler:
    """Samples `pg_stat_activity` of the database every 0.1 s, and the CPU of the node
    processes and of the server's processes (the postmaster's children) over the run."""

    def __init__(self, url: str, node_pids: list[int]) -> None:
        psycopg, _ = psycopg_modules()
        self._conn = psycopg.connect(url, autocommit=True)
        backend = int(self._conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        self._nodes = node_pids
        self._server = [postmaster, *_children(postmaster)]
        self._before = (sum(map(_cpu, self._nodes)), sum(map(_cpu, self._server)))
        self._waits: Counter[str] = Counter()
        self._busy: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            rows = self._conn.execute(
                """SELECT state, wait_event_type, wait_event FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            ).fetchall()
            busy = [r for r in rows if r[0] == "active"]
            self._busy.append(len(busy))
            for _, kind, event in busy:
                self._waits[f"{kind}:{event}" if kind else "CPU (no wait)"] += 1

    def stop(self, wall: float) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        self._conn.close()
        server = [*self._server, *_children(self._server[0])]
        engine = sum(map(_cpu, self._nodes)) - self._before[0]
        database = sum(map(_cpu, set(server))) - self._before[1]
        samples = max(1, len(self._busy))
        return {
            "engine_cores": engine / wall,
            "pg_cores": max(0.0, database) / wall,
            "busy": sum(self._busy) / samples,
            "waits": [
                {"label": name, "value": count / samples}
                for name, count in self._waits.most_common(8)
            ],
        }
