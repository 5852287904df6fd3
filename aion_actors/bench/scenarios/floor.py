"""``floor``: the CPU a durable three-activity workflow cannot avoid, with no engine.

In one process, with no actors and no engine, ``runs`` three-activity
workflows go through exactly the work a durable run must do: build their
eight events, encode and commit them through a `Recorder` on a fresh LMDB
store with ``durability="sync"`` in group commits (``inflight`` runs share
each commit, five commits a run: the start; the first schedule; each
completion with the next schedule, twice; the last completion with the
workflow's completion), call the three activity functions, and resolve one
`Future` per run. Figures: ``floor_cpu_us_per_workflow`` (CPU time of the
process, `time.process_time`, per workflow) and ``floor_workflows_per_s``,
beside ``lmdb_commit_rate`` (one commit per append) measured in the same run.

``throughput`` measures the same floor in each of its repetitions and
reports its own CPU per workflow as a ratio to it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from aion_actors.bench.ceilings import lmdb_commit_rate
from aion_actors.bench.harness import Figure, Params, Report, scenario
from aion_actors.core import Event, new_run_id, new_workflow_id
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore, Recorder
from aion_actors.store.protocol import AppendRequest

#: the five appends of a three-activity run, as (completion of activity n, schedule of n+1)
_STEPS = 5


def _bump(value: int) -> int:
    return value + 1


class _Run:
    """One workflow of the floor: its ids (made as the engine makes them: their order
    decides how many pages a commit writes), head and value."""

    __slots__ = ("future", "head", "run_id", "value", "workflow_id")

    def __init__(self, index: int) -> None:
        self.workflow_id = new_workflow_id()
        self.run_id = new_run_id()
        self.head = 0
        self.value = index
        self.future: Future[int] = Future()

    def events(self, step: int, activity: Callable[[int], int]) -> tuple[Event, ...]:
        """The events of append number `step` (0..4), calling the activity where one ran."""
        if step == 0:
            return (
                ev.WorkflowStarted(
                    workflow_type="three",
                    input=[self.value],
                    run_id=self.run_id,
                    version="floor",
                ),
            )
        done: tuple[Event, ...] = ()
        if step > 1:  # activity step-1 ran: its completion leads this append
            self.value = activity(self.value)
            done = (ev.ActivityCompleted(activity_id=str(step - 1), result=self.value),)
        if step < 4:
            return (
                *done,
                ev.ActivityScheduled(
                    activity_id=str(step), name="bump", input=[self.value], attempt=1
                ),
            )
        return (*done, ev.WorkflowCompleted(result=self.value))


def floor_run(
    data: Path, runs: int, inflight: int, activity: Callable[[int], int] = _bump
) -> tuple[float, float]:
    """(CPU µs per workflow, workflows/s) of the floor on a fresh store at `data`."""
    with LmdbStore(data, durability="sync") as store, Recorder(store) as recorder:
        began, cpu = time.perf_counter(), time.process_time()
        for first in range(0, runs, inflight):
            wave = [_Run(i) for i in range(first, min(runs, first + inflight))]
            for step in range(_STEPS):
                requests = [
                    AppendRequest(run.workflow_id, run.run_id, run.events(step, activity), run.head)
                    for run in wave
                ]
                for run, result in zip(wave, recorder.append_all(requests), strict=True):
                    if isinstance(result, BaseException):
                        raise result
                    run.head = result[-1].seq
            for run in wave:
                run.future.set_result(run.value)
        cpu, elapsed = time.process_time() - cpu, time.perf_counter() - began
    return cpu * 1e6 / runs, runs / elapsed


def floor_figures(runs: int, inflight: int) -> list[Figure]:
    """The floor as ceilings, measured on a temporary store: ``floor_cpu_us_per_workflow``
    and, with one run in flight, ``floor_latency_ms`` (one floor run's start-to-result
    time: its five commits through the `Recorder`, with the run and search indexes
    the store keeps, and no engine)."""
    with tempfile.TemporaryDirectory(prefix="aion-floor-") as tmp:
        cpu_us, rate = floor_run(Path(tmp) / "data", runs, inflight)
    figures = [Figure("floor_cpu_us_per_workflow", cpu_us, "µs", better="lower", is_ceiling=True)]
    if inflight == 1:
        figures.append(
            Figure("floor_latency_ms", 1000 / rate, "ms", better="lower", is_ceiling=True)
        )
    return figures


@scenario(
    "floor",
    help="CPU per three-activity workflow of the unavoidable work alone (no engine)",
    defaults={"runs": 5000, "inflight": 256},
    quick={"runs": 500, "inflight": 64},
)
def run(params: Params) -> Report:
    runs, inflight = int(params["runs"]), int(params["inflight"])
    if runs < 1 or inflight < 1:
        raise ValueError(f"floor: runs and inflight must be >= 1, not {runs} and {inflight}")
    with tempfile.TemporaryDirectory(prefix="aion-floor-") as tmp:
        cpu_us, rate = floor_run(Path(tmp) / "data", runs, inflight)
    labels: dict[str, Any] = {"inflight": inflight}
    ceiling = lmdb_commit_rate(0.5)
    return Report(
        figures=[
            ceiling,
            Figure("floor_cpu_us_per_workflow", cpu_us, "µs", better="lower", labels=labels),
            Figure(
                "floor_workflows_per_s", rate, "workflows/s", labels=labels, ceiling=ceiling.name
            ),
        ]
    )
