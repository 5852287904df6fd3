"""Must-show: the pruner under load, SIGKILLed in the middle of a prune: nothing open is
lost, nothing is half-deleted, and the reopened engine finishes what was started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.store import EventStore
from tests.crashes import kill_engine
from tests.pg import open_readonly
from tests.retention import load_child
from tests.retention.conftest import assert_no_leftovers, watch

ON_POSTGRES = True  # runs on a fresh Postgres database too

ROOT = Path(__file__).resolve().parents[2]


def _load(data: Any, faults: str, kill_after_pruned: int | None) -> dict[str, set[str]]:
    """Run the load until it dies (a fault point) or is killed; what it printed, by word."""
    env = {"PATH": "/usr/bin:/bin", "AION_FAULTS": faults}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.retention.load_child", str(data)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    said: dict[str, set[str]] = {"open": set(), "closed": set(), "pruned": set()}
    assert child.stdout is not None
    for line in child.stdout:
        word, name = line.decode().split()
        said[word].add(name)
        if kill_after_pruned is not None and len(said["pruned"]) >= kill_after_pruned:
            break
    kill_engine(child)  # the whole group: the engine, or what is left of it
    assert said["pruned"], "the load was killed before the pruner deleted anything"
    return said


def _check_whole(
    store: EventStore, data: Any, said: dict[str, set[str]], *, finished: bool = True
) -> None:
    assert_no_leftovers(store, data, finished=finished)
    runs = {run.workflow_id: run for run in store.runs()}
    for workflow_id in said["open"]:  # every acknowledged open run is there, open
        assert runs[workflow_id].status is WorkflowStatus.RUNNING
    assert not said["pruned"] & set(runs)
    for run in runs.values():  # every remaining run reads whole, up to the head listed
        events = store.read(run.workflow_id, run.run_id, until=run.head)  # (the engine goes on)
        assert [e.seq for e in events] == list(range(1, run.head + 1))


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("faults", "kill_after_pruned"),
    [("prune.middle:25", None), ("", 12)],
    ids=["killed-between-transactions-of-a-deletion", "killed-at-any-moment"],
)
def test_a_prune_killed_under_load_loses_nothing_open_and_leaves_nothing_half_deleted(
    data: Any, faults: str, kill_after_pruned: int | None
) -> None:
    said = _load(data, faults, kill_after_pruned)
    with open_readonly(data) as inspector:  # as the kill left it
        _check_whole(inspector, data, said, finished=False)
    with Engine.open(data, workers=1, config=load_child.CONFIG) as engine:
        pruned = watch(engine)
        engine.register(load_child.chatty, load_child.holder, load_child.step)
        left = {r.workflow_id for r in engine.list_runs(WorkflowStatus.COMPLETED)}
        pruned.wait_for(*left)  # closed runs the killed engine had not pruned go now
        _check_whole(engine.store, data, said)
        assert {r.workflow_id for r in engine.list_runs()} >= said["open"]
