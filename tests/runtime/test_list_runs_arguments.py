"""`list_runs` takes back the times the engine hands out (a run's `RunSummary.started_at`,
its `describe().started_at`) with no run listed as started after or before itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from aion_actors import Engine, PayloadError, WorkflowContext, workflow

ON_POSTGRES = True  # every test that takes `data_dir` runs on Postgres too
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@workflow
async def quick(ctx: WorkflowContext) -> int:
    return 1


@pytest.fixture
def engine(data_dir: Any) -> Any:
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(quick)
        yield engine


def _ids(engine: Engine, **filters: Any) -> set[str]:
    return {run.workflow_id for run in engine.list_runs(**filters)}


def test_a_runs_own_start_time_never_lists_it_as_started_after_or_before_itself(
    engine: Engine,
) -> None:
    for handle in engine.start_many(quick, [() for _ in range(60)]):
        handle.result(timeout=30)
    runs = engine.list_runs()
    for run in runs:
        described = engine.describe(run.workflow_id).started_at
        # describe() gives the microsecond the run started in
        assert described == EPOCH + dt.timedelta(microseconds=run.started_at // 1000)
        for when in (run.started_at, described):  # (before: ~half listed it; the int raised)
            assert run.workflow_id not in _ids(engine, started_after=when)
            assert run.workflow_id not in _ids(engine, started_before=when)
    newest, *older = runs
    assert _ids(engine, started_after=newest.started_at) == set()  # no duplicate
    assert _ids(engine, started_before=newest.started_at) == {r.workflow_id for r in older}
    later = engine.start(quick)
    later.result(timeout=30)
    assert _ids(engine, started_after=newest.started_at) == {later.workflow_id}
    assert _ids(engine, started_after=engine.describe(newest.workflow_id).started_at) == {
        later.workflow_id
    }


def test_a_misspelt_filter_is_refused_naming_list_runs_and_the_filter_it_resembles(
    engine: Engine,
) -> None:
    with pytest.raises(TypeError) as refused:
        engine.list_runs(statuss="running")  # type: ignore[call-arg]
    message = str(refused.value)
    assert message.startswith("list_runs() got an unexpected keyword argument 'statuss'")
    assert "did you mean 'status'?" in message
    assert "RunQuery" not in message  # (before: "RunQuery.of() got an unexpected ...")
    for known in ("status", "workflow_type", "started_after", "attributes", "cursor"):
        assert known in message
    with pytest.raises(TypeError, match=r"'colour'; list_runs\(\) takes"):
        engine.list_runs(colour="red")  # type: ignore[call-arg]


def test_history_refuses_an_empty_run_id_as_describe_refuses_an_empty_workflow_id(
    engine: Engine,
) -> None:
    engine.start(quick, workflow_id="r1").result(timeout=30)
    with pytest.raises(PayloadError, match="run_id: must not be empty"):
        engine.history("r1", run_id="")  # (before: the latest run's history)
    with pytest.raises(PayloadError, match="workflow_id: must not be empty"):
        engine.describe("")
    assert engine.history("r1", run_id=None) == engine.history("r1")
