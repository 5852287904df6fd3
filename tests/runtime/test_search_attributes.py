"""Search attributes and memos through the engine: set, listed, described, and the same
after a crash of the actor, an eviction, a reopen and a SIGKILL of the engine — on LMDB
and on Postgres (`ON_POSTGRES`: `data_dir` is then a database URL)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from aion_actors import (
    AionError,
    Engine,
    NonDeterminismError,
    PayloadError,
    WorkflowContext,
    WorkflowStatus,
    workflow,
)
from aion_actors.core import events as ev
from aion_actors.core import new_run_id, stamp
from aion_actors.runtime.machine import Machine
from aion_actors.store import RunPage
from tests.crashes import kill_engine
from tests.pg import open_readonly
from tests.runtime import search_flows as sf
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = True  # every test that takes `data_dir` runs on Postgres too
WHEN = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
CHARGED = {"customer": "c-7", "stage": "charged", "tags": ["vip", "eu"], "at": WHEN}


def ids(page: RunPage) -> list[str]:
    return [run.workflow_id for run in page]


def charged(engine: Engine, workflow_id: str) -> bool:
    return engine.describe(workflow_id).attributes.get("stage") == "charged"


def attribute_sets(engine: Engine, workflow_id: str) -> int:
    return sum(isinstance(e, ev.AttributesSet) for e in engine.history(workflow_id))


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return str(tmp_path / "ledger")


def open_engine(data: Path | str, **options: object) -> Engine:
    engine = Engine.open(data, workers=1, **options)  # type: ignore[arg-type]
    engine.register(*sf.ALL)
    return engine


@pytest.mark.timeout(60)
def test_attributes_are_listed_by_value_and_shown_with_the_memo_in_describe(
    data_dir: Path, ledger: str
) -> None:
    with open_engine(data_dir) as engine:
        engine.start("tagged", ledger, "c-7", workflow_id="t-1", memo={"note": "first"})
        engine.start("tagged", ledger, "c-8", workflow_id="t-2")
        wait_until(lambda: charged(engine, "t-1") and charged(engine, "t-2"), 30, "charges")
        assert ids(engine.list_runs(attributes={"customer": "c-7"})) == ["t-1"]
        assert ids(engine.list_runs(attributes={"tags": "vip"})) == ["t-2", "t-1"]
        assert ids(engine.list_runs(attributes={"priority": 2})) == []  # deleted by None
        assert ids(engine.list_runs("running", "tagged", attributes={"at": WHEN})) == [
            "t-2",
            "t-1",
        ]
        described = engine.describe("t-1")
        assert described.attributes == CHARGED and described.memo == {"note": "first"}
        assert engine.describe("t-2").memo is None
        assert attribute_sets(engine, "t-1") == 2


@pytest.mark.timeout(60)
def test_a_crash_of_the_actor_replays_its_attributes_without_recording_them_again(
    data_dir: Path, ledger: str
) -> None:
    sf.CRASHES["left"] = 1
    with open_engine(data_dir) as engine:
        engine.start("tagged", ledger, "c-7", workflow_id="t-1")
        wait_until(lambda: charged(engine, "t-1"), 30, "the restarted run to go on")
        engine.signal("t-1", "go")
        assert engine.result("t-1", timeout=30) == "done c-7"
        assert engine.describe("t-1").restarts == 1 and attribute_sets(engine, "t-1") == 2
        completed = ids(engine.list_runs(status="completed", attributes={"customer": "c-7"}))
        assert completed == ["t-1"]
    assert Path(ledger).read_text().splitlines() == ["charged c-7"]


@pytest.mark.timeout(60)
def test_an_evicted_run_rehydrates_by_replay_with_its_attributes_recorded_once(
    data_dir: Path, ledger: str
) -> None:
    with open_engine(data_dir, idle_evict_after=0.1) as engine:
        engine.start("tagged", ledger, "c-7", workflow_id="t-1")
        wait_until(lambda: engine.describe("t-1").residency == "evicted", 30, "eviction")
        assert charged(engine, "t-1")
        engine.signal("t-1", "go")  # brings it back by replay
        assert engine.result("t-1", timeout=30) == "done c-7"
        assert attribute_sets(engine, "t-1") == 2
        assert engine.describe("t-1").attributes == CHARGED


@pytest.mark.timeout(60)
def test_attributes_and_memo_survive_a_reopen_of_the_engine(data_dir: Path, ledger: str) -> None:
    with open_engine(data_dir) as engine:
        engine.start("tagged", ledger, "c-7", workflow_id="t-1", memo={"note": "kept"})
        wait_until(lambda: charged(engine, "t-1"), 30, "the charge")
    with open_engine(data_dir) as engine:
        assert ids(engine.list_runs(attributes={"customer": "c-7"})) == ["t-1"]
        engine.signal("t-1", "go")
        assert engine.result("t-1", timeout=30) == "done c-7"
        assert attribute_sets(engine, "t-1") == 2
        assert engine.describe("t-1").memo == {"note": "kept"}


def _sets_recorded(data: Path | str) -> bool:
    try:
        with open_readonly(data) as store:
            runs = store.runs()
            return len(runs) == 2 and all(r.attributes.get("stage") == "charged" for r in runs)
    except AionError:  # the engine has not created the directory yet
        return False


@pytest.mark.timeout(120)
def test_attributes_are_listed_after_a_sigkill_and_not_recorded_again(
    data_dir: Path, ledger: str
) -> None:
    data = data_dir
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.search_child", str(data), ledger],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _sets_recorded(data), 60, "both runs to set their attributes")
    finally:
        kill_engine(child)
    with open_engine(data) as engine:
        assert ids(engine.list_runs(attributes={"customer": "c-8"})) == ["t-2"]
        assert ids(engine.list_runs(attributes={"stage": "charged"}, limit=1)) == ["t-2"]
        assert engine.describe("t-1").memo == {"note": "first"}
        for workflow_id in ("t-1", "t-2"):
            engine.signal(workflow_id, "go")
        assert engine.result("t-1", timeout=30) == "done c-7"
        assert engine.result("t-2", timeout=30) == "done c-8"
        assert [attribute_sets(engine, w) for w in ("t-1", "t-2")] == [2, 2]
    assert sorted(Path(ledger).read_text().splitlines()) == ["charged c-7", "charged c-8"]


@pytest.mark.timeout(60)
def test_the_memo_is_carried_by_continue_as_new_and_attributes_stay_with_their_run(
    data_dir: Path,
) -> None:
    with open_engine(data_dir) as engine:
        engine.start("relay", 2, workflow_id="r", memo={"order": 7})
        assert engine.result("r", timeout=30) == 0
        runs = engine.list_runs(workflow_type="relay")
        assert [run.attributes for run in runs] == [{"round": 0}, {"round": 1}, {"round": 2}]
        for run in runs:
            first = engine.history("r", run.run_id)[0]
            assert isinstance(first, ev.WorkflowStarted) and first.memo == {"order": 7}
        assert engine.describe("r").memo == {"order": 7}
        assert ids(engine.list_runs(attributes={"round": 2})) == ["r"]


@pytest.mark.timeout(60)
def test_pages_stay_stable_while_runs_start_concurrently(data_dir: Path) -> None:
    with open_engine(data_dir) as engine:
        engine.start_many("relay", [(0,)] * 30, workflow_ids=[f"old-{i:02}" for i in range(30)])
        before = ids(engine.list_runs())
        stop = threading.Event()

        def keep_starting() -> None:
            n = 0
            while not stop.is_set():
                engine.start("relay", 0, workflow_id=f"new-{n}")
                n += 1

        starter = threading.Thread(target=keep_starting)
        starter.start()
        try:
            seen: list[str] = []
            page = engine.list_runs(limit=4)
            while True:
                seen += ids(page)
                if page.next_cursor is None:
                    break
                page = engine.list_runs(limit=4, cursor=page.next_cursor)
        finally:
            stop.set()
            starter.join()
        assert len(seen) == len(set(seen))  # nothing repeats
        assert [w for w in seen if w.startswith("old-")] == before  # nothing shifts or is lost


async def sets(ctx: WorkflowContext, value: Any) -> None:
    ctx.set_attributes(value)


def test_bad_attributes_fail_the_run_and_a_bad_memo_is_refused_naming_the_fault(
    tmp_path: Path,
) -> None:
    definition = workflow(name="sets")(sets)
    for value, message in [
        ({"bad name": 1}, "must be a Python identifier"),
        ({"n": {"a": 1}}, "must be str, int, float, bool"),
        ({"n": float("nan")}, "NaN"),
        ({"n": dt.datetime(2024, 1, 1)}, "has no timezone"),
        (["customer"], "must be a dict"),
    ]:
        run_id = new_run_id()
        started = ev.WorkflowStarted(
            workflow_type="sets", input=[value], run_id=run_id, version="v"
        )
        (failed,) = Machine(definition, "w", run_id, [stamp(started, 1, 1)]).advance()
        assert isinstance(failed, ev.WorkflowFailed)  # at once: a replay would raise it again
        assert failed.error["type"] == "PayloadError" and message in failed.error["message"]
    with open_engine(tmp_path / "data") as engine, pytest.raises(PayloadError, match="memo"):
        engine.start("relay", 0, memo={1: "x"})


def test_code_that_sets_attributes_where_history_has_another_command_diverged() -> None:
    run_id = new_run_id()
    history = [
        stamp(
            ev.WorkflowStarted(workflow_type="relay", input=[1], run_id=run_id, version="v"), 1, 1
        ),
        stamp(ev.TimerStarted(timer_id="sleep:1", fire_at=10), 2, 2),
    ]
    with pytest.raises(NonDeterminismError, match="set_attributes"):
        Machine(sf.relay, "w", run_id, history).advance()


def test_list_runs_accepts_a_status_by_name_and_refuses_an_unknown_one(data_dir: Path) -> None:
    with open_engine(data_dir) as engine:
        engine.start("relay", 0, workflow_id="r")
        engine.result("r", timeout=30)
        assert ids(engine.list_runs(WorkflowStatus.COMPLETED)) == ["r"]
        assert ids(engine.list_runs("completed")) == ["r"]
        with pytest.raises(ValueError, match="status 'done' is not one of"):
            engine.list_runs("done")
