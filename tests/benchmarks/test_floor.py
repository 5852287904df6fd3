"""The ``floor`` scenario: the unavoidable work of three-activity workflows with no
engine, and ``throughput`` relating its CPU per workflow to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aion_actors.bench.scenarios import floor, throughput
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore


@pytest.mark.timeout(60)
def test_the_floor_commits_each_workflows_eight_events_and_calls_its_three_activities(
    tmp_path: Path,
) -> None:
    calls: list[int] = []

    def bump(value: int) -> int:
        calls.append(value)
        return value + 1

    cpu_us, rate = floor.floor_run(tmp_path / "data", runs=10, inflight=4, activity=bump)
    assert cpu_us > 0 and rate > 0 and len(calls) == 30
    with LmdbStore(tmp_path / "data") as store:
        runs = store.runs()
        assert len(runs) == 10 and all(run.status.is_terminal for run in runs)
        results = []
        for summary in runs:
            history = store.read(summary.workflow_id, summary.run_id)
            assert [type(e).__name__ for e in history] == [
                "WorkflowStarted",
                *["ActivityScheduled", "ActivityCompleted"] * 3,
                "WorkflowCompleted",
            ]
            assert isinstance(history[-1], ev.WorkflowCompleted)
            results.append(history[-1].result)
        assert sorted(results) == [index + 3 for index in range(10)]


@pytest.mark.timeout(180)
def test_throughput_reports_cpu_per_workflow_against_the_floor_of_the_same_run() -> None:
    report = throughput.run(_small(runs=20, inflight=8, clients=["threads", "batched"]))
    (floor_figure,) = [f for f in report.figures if f.name == "floor_cpu_us_per_workflow"]
    assert floor_figure.is_ceiling and floor_figure.value > 0
    cpu = [f for f in report.figures if f.name == "cpu_us_per_workflow"]
    assert {f.labels["client"] for f in cpu} == {"threads", "batched"}
    assert all(f.ceiling == floor_figure.name and f.target_ratio == 4.0 for f in cpu)
    assert not [f for f in report.figures if "floor_latency" in f.name + str(f.ceiling)]


@pytest.mark.timeout(180)
def test_a_lone_runs_latency_is_also_reported_against_a_lone_floor_runs_store_commits() -> None:
    report = throughput.run(_small(runs=10, inflight=1, clients=["threads"]))
    (floor_latency,) = [f for f in report.figures if f.name == "floor_latency_ms"]
    assert floor_latency.is_ceiling and floor_latency.value > 0
    (p50,) = [f for f in report.figures if f.name == "latency_p50_ms"]
    (against,) = [f for f in report.figures if f.name == "latency_p50_vs_floor_ms"]
    assert (against.value, against.labels, against.ceiling) == (
        p50.value,
        p50.labels,
        floor_latency.name,
    )
    assert p50.ceiling == "commit_chain_ms" and p50.target_ratio == 1.5  # still judged there
    assert against.target_ratio is None


def _small(**sizes: Any) -> dict[str, Any]:
    """`throughput`'s parameters for a small run on LMDB with thread activities."""
    return {"workers": 1, "executors": ["thread"], "store": "lmdb", "url": "", **sizes}
