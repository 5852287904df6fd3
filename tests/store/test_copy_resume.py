"""A copy killed part-way (`copy.batch`) leaves a destination no one opens as if it were
whole — not an engine, not a store, not the command line — and the same copy run again
finishes it, checking what was there came from this source; another source is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.core import CopyFailed, IncompleteCopy
from aion_actors.core import events as ev
from aion_actors.store import EventStore, LmdbStore, copy_store
from aion_actors.store.postgres import PostgresStore
from tests.store.copy_data import fill
from tests.store.helpers import signals

pytestmark = pytest.mark.timeout(120)
_ROOT = Path(__file__).resolve().parents[2]
_RUNS = 40


@pytest.fixture(params=["lmdb", "postgres"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path / "dest"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    with LmdbStore(tmp_path / "src") as store:
        fill(store, _RUNS)
    return tmp_path / "src"


def _python(*code: str, faults: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AION_FAULTS": faults} if faults else dict(os.environ)
    return subprocess.run(
        [sys.executable, *code], cwd=_ROOT, env=env, capture_output=True, text=True, timeout=90
    )


def _killed_copy(source: Path, dest: Path | str, after: int = 3) -> None:
    """A copy of 30 events a transaction, SIGKILLed after its `after`-th transaction."""
    code = (
        "from aion_actors.store import copy_store; "
        f"copy_store({str(source)!r}, {str(dest)!r}, batch_events=30)"
    )
    done = _python("-c", code, faults=f"copy.batch:{after}")
    assert done.returncode == -signal.SIGKILL, done.stderr


def _opens(dest: Path | str, **options: bool) -> EventStore:
    if isinstance(dest, str):
        return PostgresStore(dest, **options)
    return LmdbStore(dest, **options)


def test_a_killed_copy_is_opened_by_no_one_and_the_same_copy_finishes_it(
    source: Path, dest: Path | str
) -> None:
    _killed_copy(source, dest)
    for options in ({}, {"readonly": True}):
        with pytest.raises(IncompleteCopy, match="is an incomplete copy: `aion-actors copy`"):
            _opens(dest, **options).close()
    with pytest.raises(IncompleteCopy, match=r"run the same `aion-actors copy SOURCE .*` again"):
        Engine.open(dest, workers=1).close()
    listed = _python("-m", "aion_actors", "runs", str(dest))
    assert listed.returncode == 1 and "is an incomplete copy" in listed.stderr
    with _opens(dest, copying=True) as partial:
        written = len(partial.runs())
    assert 0 < written < _RUNS  # part of the runs, each whole so far

    done = _python("-m", "aion_actors", "copy", str(source), str(dest), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["runs"] == _RUNS and report["resumed"] == written
    with _opens(dest, readonly=True) as copy, LmdbStore(source, readonly=True) as original:
        assert copy.runs() == original.runs()
        for run in original.runs():
            ids = (run.workflow_id, run.run_id)
            assert copy.read(*ids) == original.read(*ids)
    again = _python("-m", "aion_actors", "copy", str(source), str(dest))
    assert again.returncode == 2 and "already holds runs" in again.stderr


def test_a_killed_copy_is_not_resumed_from_another_source(
    source: Path, dest: Path | str, tmp_path: Path
) -> None:
    _killed_copy(source, dest)
    with LmdbStore(tmp_path / "other") as other:
        fill(other, 5, prefix="o")
    with pytest.raises(CopyFailed, match="run r1 of 'w000' is not in the source"):
        copy_store(tmp_path / "other", dest)
    with pytest.raises(IncompleteCopy):  # still marked: nothing was written
        _opens(dest, readonly=True).close()
    assert copy_store(source, dest).runs == _RUNS


def test_a_run_longer_than_a_transaction_resumes_from_where_it_stopped(
    tmp_path: Path, dest: Path | str
) -> None:
    with LmdbStore(tmp_path / "src") as store:
        fill(store, 1, prefix="a-short")
        started = ev.WorkflowStarted(workflow_type="long", input=[], run_id="r1", version="v1")
        store.append("long", "r1", [started], 0)
        for i in range(9):
            store.append("long", "r1", signals(10, batch=i), 1 + 10 * i)
    _killed_copy(tmp_path / "src", dest, after=2)  # the short run, then 30 of the 91 events
    with _opens(dest, copying=True) as partial:
        assert partial.head("long", "r1") == 30
    made = copy_store(tmp_path / "src", dest, batch_events=30)
    assert (made.runs, made.resumed, made.events) == (2, 1, 61)
    with _opens(dest) as copy, LmdbStore(tmp_path / "src", readonly=True) as original:
        assert copy.read("long", "r1") == original.read("long", "r1")
        assert copy.runs() == original.runs()


def test_the_command_says_what_it_copied(source: Path, tmp_path: Path) -> None:
    done = _python("-m", "aion_actors", "copy", str(source), str(tmp_path / "dest"))
    assert done.returncode == 0, done.stderr
    assert f"copied {_RUNS} run(s) ({_RUNS // 2} open; " in done.stdout
    assert f"timer(s)) from {source} to {tmp_path / 'dest'} in " in done.stdout
    assert "every run, timer and retention entry checked against the source" in done.stdout
