"""`aion-actors prune DIR --older-than AGE [--type T] [--dry-run]`: offline deletion
(on a `postgresql://` URL: tests/cli/test_prune_postgres.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from aion_actors.cli import main
from aion_actors.core import events as ev
from aion_actors.store import EventStore, LmdbStore
from tests.cli.test_commands import aion, held

__all__ = ["held"]  # a fixture, used below

DAY = 86_400 * 1_000_000_000


def fill_prunable(store: EventStore) -> None:
    """Runs that ended 10 days ago (two types), one that ended now, and an open one."""
    old = time.time_ns() - 10 * DAY
    for workflow_id, workflow_type, at in (
        ("old-order", "order", old),
        ("old-ship", "ship", old),
        ("new-order", "order", 0),
    ):
        started = ev.WorkflowStarted(
            workflow_type=workflow_type, input=[], run_id="r1", version="v", recorded_at=at
        )
        store.append(workflow_id, "r1", [started, ev.WorkflowCompleted(recorded_at=at)], 0)
    started = ev.WorkflowStarted(workflow_type="order", input=[], run_id="r1", version="v")
    store.append("open-order", "r1", [started], 0)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Runs that ended 10 days ago (two types), one that ended now, and an open one."""
    data = tmp_path / "data"
    with LmdbStore(data) as store:
        fill_prunable(store)
    return data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ids(data: Path) -> list[str]:
    with LmdbStore(data, readonly=True) as store:
        return [run.workflow_id for run in store.runs()]


def test_dry_run_says_what_would_go_and_deletes_nothing(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "prune", str(data), "--older-than", "7d", "--dry-run")
    assert code == 0
    assert "would delete old-order run r1 (order, completed, 2 events)" in out
    assert "would delete old-ship run r1 (ship, completed, 2 events)" in out
    assert "would delete 2 closed run(s) older than 7d (4 events)" in out
    assert ids(data) == ["new-order", "old-order", "old-ship", "open-order"]


def test_prune_deletes_closed_runs_older_than_the_age_of_the_type_given(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "prune", str(data), "--older-than", "7d", "--type", "order")
    assert code == 0
    assert "deleted old-order run r1" in out and "old-ship" not in out
    assert ids(data) == ["new-order", "old-ship", "open-order"]
    code, out, _ = run(capsys, "prune", str(data), "--older-than", "1d", "--json")
    assert code == 0
    assert [r["workflow_id"] for r in json.loads(out)["runs"]] == ["old-ship"]
    assert ids(data) == ["new-order", "open-order"]  # the open run and the recent one stay
    with LmdbStore(data) as store:
        assert store.examine().findings == []


def test_prune_is_refused_while_an_engine_owns_the_directory(held: Path) -> None:
    done = aion("prune", str(held), "--older-than", "7d")
    assert done.returncode == 1
    assert "is locked by process" in done.stderr and "stop that engine first" in done.stderr
    assert "[retention]" in done.stderr and "uvicorn" not in done.stderr  # a command's words


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("DIR", "--older-than", "soon"), "--older-than 'soon': give an age > 0 with its unit"),
        (("DIR", "--older-than", "0s"), "--older-than '0s': give an age > 0 with its unit"),
        (("DIR", "--older-than", "7"), "--older-than '7': give an age > 0 with its unit"),
    ],
)
def test_prune_refuses_what_it_cannot_do_with_a_usage_error(
    data: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    argv = tuple(str(data) if a == "DIR" else a for a in argv)
    if "--older-than" not in argv:
        argv = (*argv, "--older-than", "7d")
    code, _, err = run(capsys, "prune", *argv)
    assert code == 2
    assert message in " ".join(err.split())
    assert "pw" not in err
