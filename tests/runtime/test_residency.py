"""Idle runs leave memory and come back by replay, invisibly to workflow code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine
from tests.runtime import flows, prims
from tests.workers.helpers import wait_until


@pytest.fixture
def small(data_dir: Path) -> Iterator[Engine]:
    with Engine.open(data_dir, workers=1, max_resident=5, idle_evict_after=0.2) as engine:
        engine.register(*flows.ALL, *prims.ALL)
        yield engine


def _evicted(engine: Engine, workflow_id: str) -> bool:
    return engine.describe(workflow_id).residency == "evicted"


def test_idle_runs_are_evicted_and_a_signal_brings_them_back(small: Engine) -> None:
    run = small.start(prims.two_waits, workflow_id="idle")
    wait_until(lambda: _evicted(small, "idle"), 10, "eviction")
    assert small.describe("idle").pid is None
    small.signal("idle", "item", 1)
    small.signal("idle", "item", 2)
    assert run.result(timeout=30) == [1, 2]


def test_rehydrations_count_only_runs_brought_back_by_replay_never_new_starts(
    data_dir: Path,
) -> None:
    with Engine.open(data_dir, workers=1) as engine:  # nothing is ever evicted
        engine.register(*flows.ALL, *prims.ALL)
        runs = [engine.start(prims.two_waits, workflow_id=f"new-{n}") for n in range(5)]
        for run in runs:
            engine.signal(run.workflow_id, "item", 1)
            engine.signal(run.workflow_id, "item", 2)
        assert all(run.result(timeout=30) == [1, 2] for run in runs)
        assert engine.stats()["rehydrations"] == 0


def test_an_evicted_run_brought_back_is_one_rehydration(small: Engine) -> None:
    run = small.start(prims.two_waits, workflow_id="idle")
    wait_until(lambda: _evicted(small, "idle"), 10, "eviction")
    assert small.stats()["rehydrations"] == 0
    small.signal("idle", "item", 1)
    wait_until(lambda: small.stats()["rehydrations"] == 1, 10, "rehydration")
    wait_until(lambda: _evicted(small, "idle"), 10, "second eviction")
    small.signal("idle", "item", 2)
    assert run.result(timeout=30) == [1, 2]
    assert small.stats()["rehydrations"] == 2


def test_a_query_rehydrates_an_evicted_run(small: Engine) -> None:
    small.start(prims.queryable, workflow_id="asleep")
    wait_until(lambda: _evicted(small, "asleep"), 10, "eviction")
    assert small.query("asleep", "stage") == "waiting"
    assert small.describe("asleep").residency == "resident"
    before = len(small.history("asleep"))
    wait_until(lambda: _evicted(small, "asleep"), 10, "second eviction")
    assert len(small.history("asleep")) == before


def test_a_child_finishing_while_its_parent_is_evicted(small: Engine) -> None:
    run = small.start(prims.parent_of_sleeper, workflow_id="mother")
    wait_until(lambda: _evicted(small, "mother"), 10, "parent eviction")
    wait_until(lambda: _evicted(small, "kid"), 10, "child eviction")
    small.signal("kid", "value", 7)
    assert run.result(timeout=30) == 7


def test_resident_runs_stay_bounded(small: Engine) -> None:
    runs = [small.start(prims.two_waits, workflow_id=f"many-{i}") for i in range(40)]
    wait_until(lambda: small.stats()["resident"] <= 5, 20, "eviction down to max_resident")
    for i in range(40):
        small.signal(f"many-{i}", "item", i)
        small.signal(f"many-{i}", "item", -i)
    assert [r.result(timeout=60) for r in runs] == [[i, -i] for i in range(40)]
    assert small.stats()["rehydrations"] >= 35  # evicted runs came back to take their signals


@pytest.mark.timeout(180)
def test_runs_evicted_the_moment_they_idle_all_finish(data_dir: Path) -> None:
    """Evictions racing rehydrations, timers and retries lose no run.

    With a budget of two resident runs and eviction after 1 ms, every timer
    and retry wait of 40 runs rehydrates one while others leave, the case in
    which a run once stayed listed as resident after its actor had gone.
    """
    with Engine.open(data_dir, workers=1, max_resident=2, idle_evict_after=0.001) as engine:
        engine.register(*prims.ALL)
        runs = [engine.start(prims.churns, 4, workflow_id=f"churn-{i}") for i in range(40)]
        assert [run.result(timeout=120) for run in runs] == [4] * 40
