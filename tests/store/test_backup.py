"""`LmdbStore.backup` / `aion-actors backup`: a consistent copy of a store in use.

The copy is taken inside one read transaction while another process's engine keeps
committing: it holds every run completed before it began, whole, and opens as a store
of its own; a backup killed before it is named leaves no destination; a bad
destination is refused before anything is written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowContext, workflow
from aion_actors.core import ConfigError, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore

pytestmark = pytest.mark.timeout(120)
_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """An engine in another process completing runs w0, w1, ... on `tmp_path/data`."""
    data = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.backup_writer", str(data)],
        cwd=_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield data, child
    finally:
        child.kill()
        child.wait()


def _completed(child: subprocess.Popen[str], count: int) -> list[str]:
    assert child.stdout is not None
    return [child.stdout.readline().strip() for _ in range(count)]


def _check_whole(store: LmdbStore, workflow_id: str, run_id: str, head: int) -> list[ev.Event]:
    events = store.read(workflow_id, run_id)
    assert [e.seq for e in events] == list(range(1, head + 1)), workflow_id
    return events


def test_a_backup_taken_while_an_engine_commits_holds_every_completed_run_whole(
    writer: tuple[Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    data, child = writer
    before = _completed(child, 60)  # acknowledged as completed before the backup began
    with LmdbStore(data, readonly=True) as store:
        made = store.backup(tmp_path / "copy")
    _completed(child, 20)  # the engine went on committing, unhindered
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert made.path == tmp_path / "copy" and made.compacted
    with LmdbStore(made.path, readonly=True) as copy:
        summaries = {s.workflow_id: s for s in copy.runs()}
        assert made.runs == len(summaries) >= len(before)
        for workflow_id in before:
            summary = summaries[workflow_id]
            assert summary.status is WorkflowStatus.COMPLETED
            events = _check_whole(copy, workflow_id, summary.run_id, summary.head)
            assert isinstance(events[-1], ev.WorkflowCompleted)
            assert events[-1].result == int(workflow_id[1:]) + 2
        for summary in summaries.values():  # a run in flight at the copy is there up to a commit
            _check_whole(copy, summary.workflow_id, summary.run_id, summary.head)
        assert copy.examine().findings == []


def test_a_backup_killed_before_it_is_named_leaves_no_destination_and_the_store_as_it_was(
    writer: tuple[Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    data, child = writer
    _completed(child, 30)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with LmdbStore(data, readonly=True) as store:
        runs = len(store.runs())
    dest = tmp_path / "copy"
    killed = subprocess.run(
        [sys.executable, "-m", "aion_actors", "backup", str(data), str(dest)],
        cwd=_ROOT,
        env={**os.environ, "AION_FAULTS": "backup.copied:1"},
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL
    assert not dest.exists()
    done = subprocess.run(
        [sys.executable, "-m", "aion_actors", "backup", str(data), str(dest)],
        cwd=_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"backed up {runs} run(s)" in done.stdout
    with LmdbStore(dest, readonly=True) as copy:
        assert len(copy.runs()) == runs


def test_a_compacted_backup_leaves_out_the_pages_pruned_runs_freed(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(bulky)
        for i in range(200):
            engine.start(bulky, i, workflow_id=f"w{i}").result(timeout=30)
        assert all(
            engine.store.delete_runs([(f"w{i}", engine.describe(f"w{i}").run_id)])[0]
            for i in range(190)
        )
        full = engine.store.backup(tmp_path / "full", compact=False)  # the engine's own store
        small = engine.store.backup(tmp_path / "small")
    assert full.runs == small.runs == 10
    assert small.size < full.size / 4
    with LmdbStore(small.path, readonly=True) as copy:
        (summary,) = [s for s in copy.runs() if s.workflow_id == "w195"]
        last = copy.read("w195", summary.run_id)[-1]
        assert isinstance(last, ev.WorkflowCompleted) and last.result == "x" * 4000


@workflow
async def bulky(ctx: WorkflowContext, value: int) -> str:
    return "x" * 4000


@pytest.mark.parametrize(
    ("dest", "message"),
    [
        ("taken", "is not empty; give a new directory"),
        ("data/inside", "is inside the data directory"),
        ("missing/copy", "does not exist; create it or check the path"),
        ("file", "exists and is not a directory"),
    ],
)
def test_a_bad_destination_is_refused_before_anything_is_written(
    tmp_path: Path, dest: str, message: str
) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    (tmp_path / "file").write_text("mine")
    LmdbStore(tmp_path / "data").close()
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    with LmdbStore(tmp_path / "data", readonly=True) as store, pytest.raises(ConfigError) as err:
        store.backup(tmp_path / dest)
    assert message in str(err.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == listing
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_the_command_refuses_a_postgres_url_naming_its_tools(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aion_actors", "backup", "postgresql://u@h/db", str(tmp_path / "c")],
        cwd=_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "c").exists()


def test_the_command_refuses_a_postgres_url_as_destination_naming_copy(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data", workers=1):
        pass
    (tmp_path / "postgresql:").mkdir()  # a relative directory the URL would have landed in
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aion_actors",
            "backup",
            str(tmp_path / "data"),
            "postgresql://u@h/db",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert "aion-actors copy" in done.stderr
    assert list((tmp_path / "postgresql:").iterdir()) == []
