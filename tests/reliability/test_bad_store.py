"""A damaged, foreign, locked or stale data directory, and runs the code no longer knows."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import lmdb
import pytest

from aion_actors import (
    CorruptEvent,
    DataDirLocked,
    Engine,
    SchemaMismatch,
    WorkflowStatus,
)
from aion_actors.core import SCHEMA_VERSION, packb
from aion_actors.core import events as ev
from tests.reliability import flows
from tests.reliability.crashing import ROOT, reap_group
from tests.workers.helpers import wait_until


def _lmdb(data_dir: Path) -> lmdb.Environment:
    """The raw environment, as a tool (or a disk fault) would touch it: no engine running."""
    return lmdb.open(str(data_dir), max_dbs=8, subdir=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def holder(data_dir: Path, request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[bytes]]:
    """An engine owning `data_dir` in another process (mode from the test's parameter)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.holder", str(data_dir), request.param],
        cwd=ROOT,
        start_new_session=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == b"READY"
        yield child
    finally:
        reap_group(child)


def test_a_corrupt_event_parks_its_run_naming_the_seq_and_the_others_go_on(
    data_dir: Path,
) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        for i in range(3):
            engine.start(flows.waits, workflow_id=f"w{i}")
            engine.signal(f"w{i}", "noise", i)  # seq 2
        victim = engine.describe("w1").run_id
    env = _lmdb(data_dir)
    with env.begin(write=True, db=env.open_db(b"events")) as txn:
        assert txn.replace(b"w1\0" + victim.encode() + b"\0" + (2).to_bytes(8, "big"), b"\xc1?")
    env.close()

    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        for workflow_id in ("w0", "w2"):
            engine.signal(workflow_id, "go", workflow_id)
            assert engine.result(workflow_id, timeout=30) == workflow_id
        wait_until(lambda: engine.describe("w1").status == WorkflowStatus.PARKED, 10, "parking")
        run = engine.store.latest_run("w1")
        assert run is not None
        (parked,) = engine.store.read("w1", run.run_id, from_seq=run.head)
        assert isinstance(parked, ev.RunParked)
        assert "corrupt event" in parked.reason.lower() and "seq 2" in parked.reason
        with pytest.raises(CorruptEvent) as caught:
            engine.history("w1")
        assert caught.value.seq == 2


def test_a_directory_from_a_newer_schema_is_refused_untouched(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.waits, workflow_id="old")
    env = _lmdb(data_dir)
    with env.begin(write=True, db=env.open_db(b"meta")) as txn:
        txn.put(b"schema_version", packb(SCHEMA_VERSION + 1))
    env.close()
    before = _digest(data_dir / "data.mdb")

    with pytest.raises(SchemaMismatch) as caught:
        Engine.open(data_dir, workers=1)
    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert str(data_dir) in str(caught.value) and "upgrade aion-actors" in str(caught.value)
    assert _digest(data_dir / "data.mdb") == before


@pytest.mark.parametrize("holder", ["hold"], indirect=True)
def test_a_second_process_on_a_data_directory_is_pointed_to_running_several_replicas(
    data_dir: Path, holder: subprocess.Popen[bytes]
) -> None:
    """A web server's second worker process opening the same LMDB directory: the error
    says why (one engine per directory) and names the README section on nodes."""
    with pytest.raises(DataDirLocked) as caught:
        Engine.open(data_dir, workers=1)
    message = str(caught.value)
    assert "uvicorn --workers" in message and "PostgreSQL" in message
    section = message.split('README "')[1].split('"')[0]
    readme = (ROOT / "README.md").read_text()
    assert f"\n## {section}\n" in readme, section


@pytest.mark.parametrize("holder", ["hold"], indirect=True)
def test_a_directory_owned_by_a_live_engine_is_refused_naming_its_pid(
    data_dir: Path, holder: subprocess.Popen[bytes]
) -> None:
    with pytest.raises(DataDirLocked) as caught:
        Engine.open(data_dir, workers=1)
    assert caught.value.holder_pid == holder.pid
    assert f"locked by process {holder.pid}" in str(caught.value)
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(30) == 0
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.signal("held", "go", "released")
        assert engine.result("held", timeout=30) == "released"


@pytest.mark.parametrize("holder", ["hold"], indirect=True)
def test_a_lock_left_by_a_killed_engine_is_taken_over(
    data_dir: Path, holder: subprocess.Popen[bytes]
) -> None:
    os.killpg(holder.pid, signal.SIGKILL)
    reap_group(holder)
    assert (data_dir / "aion.lock").read_text().strip() == str(holder.pid)
    with Engine.open(data_dir, workers=1) as engine:
        assert (data_dir / "aion.lock").read_text().strip() == str(os.getpid())
        engine.register(*flows.ALL)
        engine.signal("held", "go", "taken over")
        assert engine.result("held", timeout=30) == "taken over"


def test_a_run_of_an_unregistered_workflow_type_waits_listed_until_registered(
    data_dir: Path,
) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(flows.planted)
        engine.start(flows.planted, workflow_id="planted")
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        wanted = f"waiting for workflow type '{flows.CANARY}:planted' to be registered"
        wait_until(lambda: engine.describe("planted").waiting_for == wanted, 30, "waiting_for")
        (listed,) = engine.list_runs()
        assert (listed.workflow_id, listed.status) == ("planted", WorkflowStatus.RUNNING)
        assert flows.CANARY not in sys.modules, "a name read from the store was imported"
        engine.register(flows.planted)
        assert engine.result("planted", timeout=30) == "woke"


@pytest.mark.parametrize("holder", ["stall"], indirect=True)
def test_an_attempt_of_an_unregistered_activity_waits_listed_until_registered(
    data_dir: Path, holder: subprocess.Popen[bytes]
) -> None:
    os.killpg(holder.pid, signal.SIGKILL)
    reap_group(holder)
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL, flows.runs_stalls)
        wanted = f"waiting for activity '{flows.CANARY}:stalls' to be registered"
        wait_until(lambda: engine.describe("stalled").waiting_for == wanted, 30, "waiting_for")
        assert [r.status for r in engine.list_runs()] == [WorkflowStatus.RUNNING]
        assert flows.CANARY not in sys.modules, "a name read from the store was imported"
        engine.register(flows.finishes)
        assert engine.result("stalled", timeout=30) == "finished"
