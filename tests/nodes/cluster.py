"""The cluster tests' harness: node processes driven through stdin, an audit of every
event's writer, and the checks every cluster test makes of what was recorded."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg

from aion_actors.core import events as ev
from aion_actors.nodes.calls import NodeCall
from aion_actors.store.postgres import PostgresStore, partition_of
from tests.crashes import kill_engine

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "aion"


class NodeProc:
    """A node in its own process (`tests.nodes.cluster_child`), its output read by a
    thread into a queue (so a test waits on it, never polls). Ready once it said so;
    `wait=False` returns at once (several start side by side: then call `ready()`).
    It sends `senders` signals at a time (their outcomes come in any order)."""

    def __init__(
        self,
        url: str,
        node_id: str,
        ledger: Path,
        logs: Path,
        *,
        wait: bool = True,
        senders: int = 1,
    ) -> None:
        self.node_id = node_id
        child = "tests.nodes.cluster_child"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", child, url, node_id, str(ledger), str(senders)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(logs / f"{node_id}-{time.monotonic_ns()}.log").open("w"),
            text=True,
            start_new_session=True,
            env={**os.environ, "AION_FAULTS": ""},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._ready = False
        threading.Thread(target=self._read, daemon=True).start()
        if wait:
            self.ready()

    def ready(self) -> NodeProc:
        if not self._ready:
            assert self.next(60) == "READY"
            self._ready = True
        return self

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("EOF")

    def send(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(line + "\n" for line in lines))
        self.proc.stdin.flush()

    def signals(self, n: int, acked: dict[str, str]) -> list[str]:
        """Read `n` signal outcomes: the acknowledged ones into `acked`; the workflow_ids of
        those refused (their run moved away meanwhile, nothing recorded). A run found
        ended is neither: only a signal sent again may find it so (a copy sent before,
        unacknowledged — its node died — was recorded, and the run went on)."""
        refused = []
        for _ in range(n):
            what, wid, payload, *_ = self.next().split()
            if what == "ACK":
                acked[wid] = payload
            elif what == "ENDED":
                assert not payload.endswith(":1"), f"{self.node_id}: {wid} ended unsignalled"
            else:
                refused.append(wid)
        return refused

    def next(self, timeout: float = 180.0) -> str:
        line = self.lines.get(timeout=timeout)
        assert not line.startswith("ERROR"), f"{self.node_id}: {line}"
        return line

    def quit(self) -> None:
        """Close gracefully (its partitions handed over) and wait for the process to end."""
        self.send("quit")
        while self.next() != "CLOSED":
            pass
        assert self.proc.wait(60) == 0

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            kill_engine(self.proc)


def connect(url: str) -> Any:
    return psycopg.connect(url, autocommit=True)


def install_audit(url: str) -> None:
    """Every event inserted from now on is logged with the node whose connection wrote it
    (its `application_name`) and its partition's owner and epoch in that transaction —
    which the append's fence holds locked until it commits."""
    s = SCHEMA
    with connect(url) as conn:
        conn.execute(
            f"""CREATE TABLE {s}.audit (workflow_id text, run_id text, seq bigint,
            partition integer, writer text, owner text, epoch bigint)"""
        )
        conn.execute(
            f"""CREATE FUNCTION {s}.audit_event() RETURNS trigger AS $$
            BEGIN
              INSERT INTO {s}.audit SELECT NEW.workflow_id, NEW.run_id, NEW.seq, NEW.partition,
                current_setting('application_name'), p.owner, p.epoch
                FROM {s}.partitions p WHERE p.partition = NEW.partition;
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""
        )
        conn.execute(
            f"""CREATE TRIGGER audit AFTER INSERT ON {s}.events
            FOR EACH ROW EXECUTE FUNCTION {s}.audit_event()"""
        )


def owners(url: str) -> dict[str, int]:
    """How many partitions each node owns."""
    with connect(url) as conn:
        rows = conn.execute(
            f"SELECT owner, count(*) FROM {SCHEMA}.partitions WHERE owner IS NOT NULL "
            "GROUP BY owner"
        ).fetchall()
    return {owner: int(n) for owner, n in rows}


def count(url: str, sql: str) -> int:
    with connect(url) as conn:
        return int(conn.execute(sql.format(s=SCHEMA)).fetchone()[0])


def until(check: Any, timeout: float, what: str, explain: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s" + (explain() if explain else ""))
        time.sleep(0.2)


def stuck(url: str, logs: Path | None = None) -> str:
    """What the runs not completed are doing, for a failure message: each one's history
    (and its child's), the request rows left (what each asks, of which run), the lease
    epochs of the partitions involved, and the tail of each node's log (`logs`)."""
    store = PostgresStore(url, readonly=True)
    try:
        open_runs = [r for r in store.runs() if r.status.value != "completed"]
        lines = [f"\n{len(open_runs)} runs not completed"]
        involved: set[int] = set()
        for run in open_runs[:5]:
            kinds = [e.kind for e in store.read(run.workflow_id, run.run_id)]
            where = partition_of(run.workflow_id, store.partitions)
            involved.add(where)
            lines.append(f"{run.workflow_id} (partition {where}) {run.status.value}: {kinds}")
            kid = store.latest_run(f"{run.workflow_id}-kid")
            if kid is not None:
                involved.add(partition_of(kid.workflow_id, store.partitions))
                kinds = [e.kind for e in store.read(kid.workflow_id, kid.run_id)]
                lines.append(
                    f"  its child {kid.workflow_id} (partition "
                    f"{partition_of(kid.workflow_id, store.partitions)}) run {kid.run_id} "
                    f"{kid.status.value}: {kinds}"
                )
        with connect(url) as conn:
            rows = conn.execute(
                f"SELECT id, partition, requester, created_at, data FROM {SCHEMA}.requests"
            ).fetchall()
            for request_id, partition, requester, created_at, data in rows:
                involved.add(partition)
                call = NodeCall.decode(bytes(data))
                lines.append(
                    f"request {request_id} in partition {partition} from {requester} at "
                    f"{created_at}: {call.kind} of {call.workflow_id} run {call.run_id}"
                )
            for row in conn.execute(f"SELECT id, requester FROM {SCHEMA}.answers"):
                lines.append(f"answer {row}")
            for row in conn.execute(
                f"SELECT partition, owner, epoch, expires_at FROM {SCHEMA}.partitions "
                "WHERE partition = ANY(%s) ORDER BY partition",
                (sorted(involved),),
            ):
                lines.append(f"partition {row[0]}: owner {row[1]} epoch {row[2]}")
        for log in sorted(logs.glob("*.log")) if logs else ():
            tail = log.read_text(errors="replace").splitlines()[-15:]
            lines.append(f"--- {log.name} (last {len(tail)} lines)")
            lines.extend(tail)
        return "\n".join(lines)
    finally:
        store.close()


def completed(url: str) -> int:
    return count(
        url, "SELECT count(*) FROM {s}.runs WHERE workflow_type = 'mixed' AND status = 'completed'"
    )


def check_cluster(url: str, ids: list[str], ledger: Path, acked: dict[str, str]) -> None:
    """Every run of `ids` completed as an uncrashed run does; every acknowledged signal
    (`acked`: workflow_id -> payload) seen exactly once and no run signalled more than
    it was sent; each child started once; no activity whose completion was recorded ran
    again; every event written by its partition's owner at the epoch of its commit,
    each run's events by one owner after another; no request left."""
    store = PostgresStore(url, readonly=True)
    try:
        executions = _ledger(ledger)
        all_runs = store.runs()
        latest = {}  # (what `store.latest_run` answers, for every workflow_id at once)
        for run in sorted(all_runs, key=lambda r: (r.started_at, r.run_id)):
            latest[run.workflow_id] = run.run_id
        keys = [(wid, latest[wid]) for wid in ids]
        histories = dict(zip(keys, store.read_many(keys), strict=True))
        commits = _commit_times(url)
        for wid, run_id in keys:
            history = histories[wid, run_id]
            assert isinstance(history, list), (wid, history)
            assert isinstance(history[-1], ev.WorkflowCompleted), (wid, history[-1])
            assert history[-1].result == [f"{wid}/a", wid, 6, f"{wid}/b"]
            payloads = [e.payload for e in history if isinstance(e, ev.SignalReceived)]
            assert len(payloads) == len(set(payloads)), (wid, payloads)
            if wid in acked:
                assert payloads.count(acked[wid]) == 1, (wid, payloads)
            committed = commits[wid, run_id]
            for done in (e for e in history if isinstance(e, ev.ActivityCompleted)):
                key, _, run = str(done.result).partition("@")
                # nothing started after the completion was committed (one dispatched again
                # before — its run recovered by an owner, a new one or this one again,
                # while the first execution's outcome was on its way — is at least once;
                # such a dispatch may start up to STARTS_WITHIN later on a loaded machine)
                after = committed[done.seq] + STARTS_WITHIN
                again = [e for e in executions[key] if e[2] > after]
                assert run in [e[1] for e in executions[key]], (key, executions[key], run)
                assert again == [], (key, executions[key], run, committed[done.seq])
        runs: dict[str, int] = defaultdict(int)
        for summary in all_runs:
            runs[summary.workflow_id] += 1
        assert all(runs[f"{wid}-kid"] == 1 for wid in ids)
    finally:
        store.close()
    _check_audit(url)
    assert count(url, "SELECT count(*) FROM {s}.requests") == 0


#: how long after its dispatch an activity may start (its start is what the ledger sees)
STARTS_WITHIN = 250_000_000  # ns


def _commit_times(url: str) -> dict[tuple[str, str], dict[int, int]]:
    """When each event of each run was committed (ns), from the server's commit
    timestamps (the throwaway server runs with `track_commit_timestamp`)."""
    with connect(url) as conn:
        rows = conn.execute(
            f"""SELECT workflow_id, run_id, seq, (extract(epoch FROM
            pg_xact_commit_timestamp(xmin)) * 1000000)::bigint FROM {SCHEMA}.events"""
        ).fetchall()
    times: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for workflow_id, run_id, seq, at in rows:
        times[workflow_id, run_id][seq] = at * 1000
    return times


def _ledger(ledger: Path) -> dict[str, list[tuple[str, str, int]]]:
    """Each activity's executions as the ledger saw them: (start, run, started at ns)."""
    executions: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for line in ledger.read_text().splitlines():
        what, key, run, *at = line.split()
        if what == "start":
            executions[key].append((what, run, int(at[0])))
    return executions


def _check_audit(url: str) -> None:
    with connect(url) as conn:
        rows = conn.execute(
            f"""SELECT workflow_id, run_id, seq, writer, owner, epoch FROM {SCHEMA}.audit
            ORDER BY workflow_id, run_id, seq"""
        ).fetchall()
        events = int(conn.execute(f"SELECT count(*) FROM {SCHEMA}.events").fetchone()[0])
    assert len(rows) == events  # (the audit was installed before the first run)
    last: dict[tuple[str, str], tuple[int, int]] = {}
    for wid, run_id, seq, writer, owner, epoch in rows:
        assert writer == f"aion-actors node {owner}", (wid, run_id, writer, owner)
        before_seq, before_epoch = last.get((wid, run_id), (0, 0))
        assert seq == before_seq + 1, (wid, run_id, seq, "not contiguous")
        assert epoch >= before_epoch, (wid, run_id, seq, "an older owner wrote after a newer")
        last[wid, run_id] = (seq, epoch)
