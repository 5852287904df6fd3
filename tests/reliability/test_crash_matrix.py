"""The crash matrix: SIGKILL the engine at every fault point, reopen, and lose nothing.

One reference workload exercises every point: three runs of a program with
activities (thread and process), a worker death, timers, signals, a child
with its own activities and timer, a gather, a signal to itself through
`ctx.external`, an update from the driver, and continue-as-new, on an
engine that keeps at most two runs resident and evicts idle ones after
50 ms. For each point the engine kills itself the n-th time it passes
there (n chosen so that it is mid-workload), a fresh engine finishes the
work, and the outcome must match an uncrashed run of the same workload.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors.core import events as ev
from aion_actors.core import faults, status_from_events
from tests.forker import Forker
from tests.reliability.crashing import DRIVER, Workload, check, normalised
from tests.reliability.programs import evaluate

PROGRAM = [
    ["act", 1],
    ["sleep", 120],
    ["signal", 1],
    ["poke", 1],
    ["update", 1],
    ["child", [["act", 2], ["sleep", 80], ["act", 3]]],
    ["gather", [["act", 4], ["sleep", 60], ["signal", 2]]],
    ["can"],
    ["die", 5],
    ["act", 6],
]
SPEC: dict[str, list[Any]] = {f"m{i}": [PROGRAM, i] for i in range(3)}

#: the pass that kills, per point; a clean run passes each point this many times:
#: commits ~60, activity results 21, timer firings 12, children 3, updates 3, continue-as-new 3,
#: evictions and rehydrations ~20.
KILL_AT = {
    "commit.before": 25,
    "commit.after": 25,
    "commit.middle": 25,
    "activity.unrecorded": 9,
    "timer.firing": 5,
    "child.starting": 2,
    "external.answering": 2,
    "update.accepted": 2,
    "continue_as_new": 2,
    "evict": 8,
    "rehydrate": 8,
}
#: points this workload never passes, each killed by a test of its own
ELSEWHERE = {
    "prune.middle": "tests/retention/test_prune_crash.py",  # the workload keeps its runs
    "backup.copied": "tests/store/test_backup.py",  # a backup, not an engine's workload
    "copy.batch": "tests/store/test_copy_resume.py",  # a copy between stores, likewise
    "reset": "tests/runtime/test_reset.py",  # an operator's verb the workload does not make
    # calls between nodes: a single engine makes none
    "request.written": "tests/nodes/test_request_crashes.py",
    "request.applying": "tests/nodes/test_request_crashes.py",
    "child.requested": "tests/nodes/test_children_crashes.py",
}


def test_every_fault_point_is_in_the_matrix() -> None:
    assert set(KILL_AT) | set(ELSEWHERE) == set(faults.POINTS)
    assert not set(KILL_AT) & set(ELSEWHERE)


@pytest.fixture(scope="module")
def forker() -> Iterator[Forker]:
    """Forks the drivers from a warm interpreter: none imports the engine anew."""
    with Forker(DRIVER) as forker:
        yield forker


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, forker: Forker
) -> tuple[dict[str, Any], set[Any]]:
    """The uncrashed run: its results and which activities it executed."""
    workload = Workload(tmp_path_factory.mktemp("reference"), SPEC, forker)
    assert workload.run() == 0, workload.log_tail()
    check(workload, {w: ["ok", evaluate(p, v)] for w, (p, v) in SPEC.items()}, [])
    return workload.results(), normalised(workload.snapshot())


POINTS = [point for point in faults.POINTS if point not in ELSEWHERE]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_each_fault_point_loses_nothing_and_repeats_nothing(
    point: str, tmp_path: Path, reference: tuple[dict[str, Any], set[Any]], forker: Forker
) -> None:
    results, executed = reference
    workload = Workload(tmp_path, SPEC, forker)
    code = workload.run(f"{point}:{KILL_AT[point]}")
    assert code == -signal.SIGKILL, f"{point} was not reached (exit {code})\n{workload.log_tail()}"
    after_kill = workload.snapshot()
    histories = after_kill.histories
    open_runs = [h for h in histories.values() if not status_from_events(h).is_terminal]
    # a run closed by continue-as-new whose successor never started is unfinished work too
    started = {h[0].run_id for h in histories.values() if isinstance(h[0], ev.WorkflowStarted)}
    lost = [
        h
        for h in histories.values()
        if isinstance(h[-1], ev.WorkflowContinuedAsNew) and h[-1].next_run_id not in started
    ]
    assert open_runs or lost, f"{point}:{KILL_AT[point]} fired after the workload had finished"
    assert workload.run() == 0, workload.log_tail()
    check(workload, results, [after_kill])
    assert normalised(workload.snapshot()) == executed
