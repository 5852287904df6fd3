"""A damaged data directory: refused with a `CorruptStore` naming the file, never a crash,
never silently emptied; a damaged run index entry costs only its run; the index rebuilds.

Real files, damaged for real (see `damage.py`); openings that could die of
SIGBUS run in a process of their own.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aion_actors import ConfigError, CorruptStore, Engine
from aion_actors.core import WorkflowStatus
from aion_actors.store import LmdbStore
from tests.store import damage
from tests.store.conftest import WAIT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "aion-data"
    damage.write_runs(data)
    return data


def _open_elsewhere(how: str, data: Path) -> str:
    child = subprocess.run(
        [sys.executable, "-m", "tests.store.open_damaged", how, str(data)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert child.returncode != -signal.SIGBUS, f"{how}: killed by SIGBUS\n{child.stderr}"
    assert child.returncode == 0, child.stderr
    return child.stdout.strip()


@pytest.mark.parametrize("how", ["store", "readonly", "engine"])
def test_a_truncated_data_file_is_refused_before_it_is_mapped_never_sigbus(
    data: Path, how: str
) -> None:
    damage.truncate_to_half(data)
    before = damage.digest(data / "data.mdb")
    said = _open_elsewhere(how, data)
    assert said.startswith(f"CorruptStore {data / 'data.mdb'}: the file is truncated"), said
    assert "restore the data directory from a backup" in said
    assert f"aion-actors doctor {data}" in said
    assert damage.digest(data / "data.mdb") == before


@pytest.mark.parametrize("size", [100, 4096, 4096 + 100])
def test_a_data_file_cut_inside_its_meta_pages_is_refused(data: Path, size: int) -> None:
    os.truncate(data / "data.mdb", size)
    said = _open_elsewhere("readonly", data)
    assert said.startswith(f"CorruptStore {data / 'data.mdb'}: "), said
    assert "truncated" in said


@pytest.mark.parametrize("loss", ["empty", "missing"])
def test_a_lost_data_file_is_refused_not_recreated_empty(data: Path, loss: str) -> None:
    file = data / "data.mdb"
    if loss == "empty":
        os.truncate(file, 0)
    else:
        file.unlink()
    for opening in (
        lambda: Engine.open(data, workers=1),
        lambda: LmdbStore(data),
        lambda: LmdbStore(data, readonly=True),
    ):
        with pytest.raises(CorruptStore) as info:
            opening()
        assert info.value.path == str(file)
        assert str(info.value).startswith(f"{file}: the data file is {loss}")
        assert (file.stat().st_size == 0) if loss == "empty" else not file.exists()
    assert "aion-actors doctor" in str(info.value)
    with LmdbStore(data, create=True) as store:  # asked for: an empty store in its place
        assert store.runs() == []
    with LmdbStore(data) as store:
        assert store.runs() == []


def test_a_new_directory_is_created_and_marked_and_create_false_creates_nothing(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        LmdbStore(tmp_path / "new", create=False)
    assert not (tmp_path / "new").exists()
    with LmdbStore(tmp_path / "new"):
        pass
    assert (tmp_path / "new" / "aion.dir").is_file()
    (tmp_path / "new" / "aion.dir").unlink()  # a directory from before the marker
    with LmdbStore(tmp_path / "new", create=False):
        pass
    assert (tmp_path / "new" / "aion.dir").is_file()
    with pytest.raises(ConfigError, match="writable"):
        LmdbStore(tmp_path / "new", readonly=True, create=True)


@pytest.mark.parametrize(
    ("plant", "lmdb_error"),
    [(damage.zero_data_pages, "CorruptedError"), (damage.root_past_the_end, "PageNotFoundError")],
)
def test_lmdb_damage_errors_are_a_corrupt_store_naming_the_file(
    data: Path, plant: object, lmdb_error: str
) -> None:
    plant(data)  # type: ignore[operator]
    for opening in (lambda: Engine.open(data, workers=1), lambda: LmdbStore(data, readonly=True)):
        with pytest.raises(CorruptStore) as info:
            opening()
        assert info.value.path == str(data / "data.mdb")
        assert f"LMDB found damaged pages ({lmdb_error}" in str(info.value)
        assert f"aion-actors doctor {data}" in str(info.value)


def test_a_damaged_run_index_entry_costs_only_its_run(
    data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damage.garbage_index_entry(data, 3)  # an open run
    damage.wrong_index_entry(data, 4, head="seven")  # a completed one
    with (
        caplog.at_level(logging.WARNING, logger="aion_actors.store"),
        Engine.open(data, workers=1) as engine,
    ):
        listed = {run.workflow_id for run in engine.list_runs()}
        waiting = engine.list_runs(status=WorkflowStatus.RUNNING)
        assert engine.describe("order-05").status is WorkflowStatus.RUNNING
    assert listed == {f"order-{i:02}" for i in range(damage.RUNS)} - {"order-03", "order-04"}
    assert len(waiting) == damage.RUNS // 2 - 1
    logged = [r.getMessage() for r in caplog.records if "index entry" in r.getMessage()]
    assert len(logged) == 2, logged  # once each, however often the index is scanned
    assert "workflow 'order-03', run run3" in logged[0] and "--rebuild-index" in logged[0]
    with LmdbStore(data, readonly=True) as store:
        assert [(d.workflow_id, d.run_id) for d in store.damaged_runs()] == [
            ("order-03", "run3"),
            ("order-04", "run4"),
        ]
        assert "not a msgpack map" in store.damaged_runs()[0].problem
        assert len(store.runs()) == damage.RUNS - 2


def test_the_index_and_timers_are_examined_against_the_events_and_rebuilt(data: Path) -> None:
    with LmdbStore(data) as store:
        before = (store.runs(), store.due_timers(2 * damage.FIRE_AT))
        assert store.examine().findings == []
    damage.garbage_index_entry(data, 1)
    damage.put(data, b"runs", damage.run_key(2), None)  # its events stay
    damage.wrong_index_entry(data, 5, status="completed")
    damage.put(data, b"timer_ids", damage.run_key(7) + b"\0t7", None)  # its timer stays
    with LmdbStore(data) as store:
        report = store.examine()
        found = sorted((f.part, f.where) for f in report.findings)
        assert found == [
            ("index", "workflow 'order-01', run run1"),
            ("index", "workflow 'order-02', run run2"),
            ("index", "workflow 'order-05', run run5"),
            ("timers", "timer 't5' of workflow 'order-05', run run5"),
            ("timers", "timer 't7' of workflow 'order-07', run run7"),
        ], report.findings
        rebuilt = store.rebuild_index()
        assert (rebuilt.runs, rebuilt.timers, rebuilt.unreadable) == (damage.RUNS, 20, [])
        assert store.examine().findings == []
        assert (store.runs(), store.due_timers(2 * damage.FIRE_AT)) == before
