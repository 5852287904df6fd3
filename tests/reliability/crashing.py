"""Run programs in engine processes that kill themselves, and check what survived.

A `Workload` is a work directory holding a spec, a data directory and a
ledger. `run(faults)` starts `tests.reliability.driver` there with
`AION_FAULTS=faults`; after a kill, `snapshot()` reads the store read-only
as the kill left it. `check()` then holds the finished directory to the
promise: every result as expected, every snapshot's history a prefix of the
final one, no completed activity executed again, and no duplicate timer
firing, signal delivery, child start or child run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aion_actors.core import Event
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.forker import Forked, Forker

ROOT = Path(__file__).resolve().parents[2]
DRIVER = "tests.reliability.driver"
RunKey = tuple[str, str]
ActivityKey = tuple[str, str, str]


@dataclass(frozen=True)
class Snapshot:
    """The store and the ledger as a kill left them."""

    histories: dict[RunKey, list[Event]]
    executions: Counter[ActivityKey]

    @property
    def completed(self) -> set[ActivityKey]:
        return _completed(self.histories)


class Workload:
    """`forker`, if given, forks the drivers from a warm interpreter (see `tests.forker`);
    else each starts as a fresh `python -m`."""

    def __init__(
        self, workdir: Path, spec: dict[str, list[Any]], forker: Forker | None = None
    ) -> None:
        self.forker = forker
        self.workdir = workdir
        self.data = workdir / "data"
        self.ledger = workdir / "ledger"
        self.spec = spec
        self.processes = 0
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "spec.json").write_text(json.dumps(spec))

    def run(self, faults: str = "", timeout: float = 150.0) -> int:
        """Run the driver once (killing itself at `faults`, if given); its return code."""
        self.processes += 1
        log = self.workdir / f"engine-{self.processes}.log"
        if self.forker is not None:
            return self._fork(faults, timeout, log)
        env = {**os.environ, "AION_FAULTS": faults}
        with log.open("wb") as stderr:
            child = subprocess.Popen(
                [sys.executable, "-m", DRIVER, str(self.workdir)],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            try:
                child.wait(timeout)
            finally:
                reap_group(child)
        return child.returncode

    def _fork(self, faults: str, timeout: float, log: Path) -> int:
        assert self.forker is not None
        child = self.forker.start(DRIVER, self.workdir, env={"AION_FAULTS": faults}, stderr=log)
        overdue = threading.Timer(timeout, _kill_group, (child.pid,))
        overdue.start()
        try:
            return child.wait()
        finally:
            overdue.cancel()
            overdue.join()
            reap_group(child)

    def results(self) -> dict[str, Any]:
        results: dict[str, Any] = json.loads((self.workdir / "results.json").read_text())
        return results

    def snapshot(self) -> Snapshot:
        return Snapshot(read_histories(self.data), executions(self.ledger))

    def log_tail(self, lines: int = 30) -> str:
        """The end of the last engine's stderr, for failure messages."""
        log = self.workdir / f"engine-{self.processes}.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def reap_group(child: subprocess.Popen[bytes] | Forked, timeout: float = 30.0) -> None:
    """SIGKILL what is left of the engine's process group (its workers) and wait for it.

    Members count as gone once they are zombies: they run no more code, and
    waiting for whoever adopted them to reap them can take seconds.
    """
    if child.returncode is None:
        child.kill()
        child.wait()
    deadline = time.monotonic() + timeout
    while _group_alive(child.pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes of group {child.pid} outlived SIGKILL for {timeout} s")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        time.sleep(0.01)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (is not a zombie)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def read_histories(data: Path) -> dict[RunKey, list[Event]]:
    if not (data / "data.mdb").exists():
        return {}
    with LmdbStore(data, readonly=True) as store:
        return {
            (run.workflow_id, run.run_id): store.read(run.workflow_id, run.run_id)
            for run in store.runs()
        }


def executions(ledger: Path) -> Counter[ActivityKey]:
    """How many times each activity (workflow_id, run_id, activity_id) was executed."""
    if not ledger.exists():
        return Counter()
    lines = [line.split() for line in ledger.read_text().splitlines()]
    return Counter((w, r, a) for w, r, a, _attempt in lines)


def _completed(histories: dict[RunKey, list[Event]]) -> set[ActivityKey]:
    return {
        (w, r, e.activity_id)
        for (w, r), history in histories.items()
        for e in history
        if isinstance(e, ev.ActivityCompleted)
    }


def check(workload: Workload, expected: dict[str, Any], snapshots: Iterable[Snapshot]) -> None:
    """Assert everything the crash tests promise about a finished work directory."""
    results = workload.results()
    assert results == expected, f"results differ\n{workload.log_tail()}"
    final = workload.snapshot()
    for snap in snapshots:
        for run, history in snap.histories.items():
            assert final.histories[run][: len(history)] == history, f"{run}: history rewritten"
        for key in snap.completed:
            assert final.executions[key] == snap.executions[key], f"{key} ran after completing"
    check_histories(final.histories)
    scheduled = {
        (w, r, e.activity_id)
        for (w, r), history in final.histories.items()
        for e in history
        if isinstance(e, ev.ActivityScheduled)
    }
    assert set(final.executions) <= scheduled, "an activity ran that no history scheduled"
    assert final.completed <= set(final.executions), "a completion without an execution"


def check_histories(histories: dict[RunKey, list[Event]]) -> None:
    """No gaps, and nothing recorded twice: timer firings, signals, updates, children,
    child runs."""
    successors: set[RunKey] = set()
    child_runs: dict[str, set[str]] = defaultdict(set)
    for (workflow_id, run_id), history in histories.items():
        where = f"run {workflow_id}/{run_id}"
        assert [e.seq for e in history] == list(range(1, len(history) + 1)), f"{where}: seq gap"
        _unique(where, [e.activity_id for e in history if isinstance(e, ev.ActivityCompleted)])
        _unique(where, [e.timer_id for e in history if isinstance(e, ev.TimerFired)])
        _unique(where, [e.name for e in history if isinstance(e, ev.SignalReceived)])
        _unique(where, [e.update_id for e in history if isinstance(e, ev.UpdateAccepted)])
        _unique(where, [e.update_id for e in history if isinstance(e, ev.UpdateCompleted)])
        started = [e for e in history if isinstance(e, ev.ChildStarted)]
        _unique(where, [e.child_workflow_id for e in started])
        for child in started:
            child_runs[child.child_workflow_id].add(child.child_run_id)
        for event in history:
            if isinstance(event, ev.WorkflowContinuedAsNew):
                successors.add((workflow_id, event.next_run_id))
    roots: dict[str, set[str]] = defaultdict(set)
    for workflow_id, run_id in histories:
        if (workflow_id, run_id) not in successors:
            roots[workflow_id].add(run_id)
    for workflow_id, run_ids in roots.items():
        if workflow_id in child_runs:
            assert run_ids == child_runs[workflow_id], f"child {workflow_id}: runs {run_ids}"
        else:
            assert len(run_ids) == 1, f"workflow {workflow_id} started {len(run_ids)} times"


def _unique(where: str, keys: list[str]) -> None:
    repeated = sorted(k for k, n in Counter(keys).items() if n > 1)
    assert not repeated, f"{where}: recorded twice: {repeated}"


def normalised(snapshot: Snapshot) -> set[tuple[str, int, str]]:
    """Executed activities with each run_id replaced by its rank among its workflow's runs.

    Run ids are random, so two work directories are compared through the
    order runs of one workflow_id started in (continue-as-new, children).
    """
    started: dict[RunKey, int] = {key: h[0].recorded_at for key, h in snapshot.histories.items()}
    rank: dict[RunKey, int] = {}
    by_workflow: dict[str, list[RunKey]] = defaultdict(list)
    for key in sorted(started, key=started.__getitem__):
        by_workflow[key[0]].append(key)
        rank[key] = len(by_workflow[key[0]]) - 1
    return {(w, rank[(w, r)], a) for w, r, a in snapshot.executions}
