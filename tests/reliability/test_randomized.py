"""Generated programs, killed at generated moments, must end as a crash-free run would.

Hypothesis builds programs (see `programs.py`) from activities, worker
deaths, timers, signals, children, gathers and continue-as-new, and one to
two crashes: a fault point the program reaches and a pass count. Two runs
of the program go through an engine that SIGKILLs itself at each crash in
turn, then through one that finishes; results must equal the evaluator's,
with nothing completed executed again and nothing recorded twice.

The CI profile tries a fixed set of programs; `--slow` tries many fresh ones.
"""

from __future__ import annotations

import signal
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aion_actors.core import events as ev
from tests.forker import Forker
from tests.reliability import programs
from tests.reliability.crashing import DRIVER, Workload, check

PROGRAMS = {"ci": 10, "slow": 200}
_COMMITS = ("commit.before", "commit.after", "commit.middle")


def _leaf() -> st.SearchStrategy[list[Any]]:
    return st.one_of(
        st.tuples(st.just("act"), st.integers(0, 99)),
        st.tuples(st.just("sleep"), st.sampled_from([10, 60, 150])),
        st.tuples(st.just("signal"), st.just(0)),
        st.tuples(st.just("die"), st.integers(0, 99)),
    ).map(list)


def _program(depth: int) -> st.SearchStrategy[list[Any]]:
    single = _leaf()
    if depth > 0:
        single = st.one_of(single, st.tuples(st.just("child"), _program(depth - 1)).map(list))
    op = st.one_of(
        single,
        st.tuples(st.just("gather"), st.lists(single, min_size=1, max_size=3)).map(list),
        st.just(["can"]),
    )
    return st.lists(op, min_size=1, max_size=5 if depth else 3)


def _number_signals(program: list[Any], counter: list[int]) -> list[Any]:
    """Give every signal op its own number, so each run waits for distinct names."""
    numbered: list[Any] = []
    for op in program:
        if op[0] == "signal":
            counter[0] += 1
            numbered.append(["signal", counter[0]])
        elif op[0] in ("child", "gather"):
            numbered.append([op[0], _number_signals(op[1], counter)])
        else:
            numbered.append(op)
    return numbered


PROGRAM = _program(2).map(lambda p: _number_signals(p, [0]))


def _reachable(program: list[Any]) -> list[str]:
    """Fault points `program` passes through (eviction needs something to wait for)."""
    kinds = programs.kinds(program)
    points = list(_COMMITS)
    if kinds & {"act", "die"}:
        points.append("activity.unrecorded")
    if kinds & {"sleep", "die"}:
        points.append("timer.firing")
    if "child" in kinds:
        points.append("child.starting")
    if "can" in kinds:
        points.append("continue_as_new")
    if kinds & {"sleep", "signal", "child"}:
        points += ["evict", "rehydrate"]
    return points


def _crash(point: str) -> st.SearchStrategy[tuple[str, int]]:
    most = 30 if point in _COMMITS else 4
    return st.tuples(st.just(point), st.integers(1, most))


@pytest.mark.timeout(1800)
def test_generated_programs_survive_generated_crashes(pytestconfig: pytest.Config) -> None:
    profile = "slow" if pytestconfig.getoption("--slow") else "ci"
    stats: Counter[str] = Counter()

    @settings(max_examples=PROGRAMS[profile])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        program = data.draw(PROGRAM, label="program")
        crashes = data.draw(
            st.lists(st.sampled_from(_reachable(program)).flatmap(_crash), min_size=1, max_size=2),
            label="crashes",
        )
        spec: dict[str, list[Any]] = {"p0": [program, 0], "p1": [program, 1]}
        expected = {w: ["ok", programs.evaluate(p, v)] for w, (p, v) in spec.items()}
        stats["programs"] += 1
        with tempfile.TemporaryDirectory() as tmp:
            workload = Workload(Path(tmp), spec, forker)
            snapshots = []
            for point, count in crashes:
                code = workload.run(f"{point}:{count}")
                if code != -signal.SIGKILL:
                    assert code == 0, workload.log_tail()
                    break
                stats["kills"] += 1
                snapshots.append(workload.snapshot())
            else:
                assert workload.run() == 0, workload.log_tail()
            stats["processes"] += workload.processes
            check(workload, expected, snapshots)
            stats["worker_deaths"] += sum(
                1
                for history in workload.snapshot().histories.values()
                for e in history
                if isinstance(e, ev.ActivityAttemptFailed) and e.error["type"] == "WorkerCrashed"
            )

    with Forker(DRIVER) as forker:  # the drivers start without importing the engine anew
        run()
    print(f"\nrandomized ({profile}): {dict(stats)}")
