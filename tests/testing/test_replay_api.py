"""`aion_actors.testing.replay`: histories against the current code, as a test asserts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, WorkflowContext, WorkflowError, workflow
from aion_actors.core import Event
from aion_actors.core import events as ev
from aion_actors.testing import (
    History,
    ReplayDiverged,
    replay,
    write_history_file,
)
from tests.cli import replay_v1, replay_v2, replay_v3

WAIT = 30.0
EXTRA = {"note": b"\x01"}


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[list[Event]]]:
    """Two completed `checkout` runs recorded by `replay_v1`."""
    data = tmp_path_factory.mktemp("api") / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(replay_v1.checkout, replay_v1.reserve, replay_v1.charge)
        for n in (1, 2):
            engine.start(replay_v1.checkout, "pen", n, EXTRA, workflow_id=f"c-{n}").result(WAIT)
        yield [engine.history(f"c-{n}") for n in (1, 2)]


def _first_activity(events: list[Event]) -> ev.ActivityScheduled:
    return next(e for e in events if isinstance(e, ev.ActivityScheduled))


@pytest.mark.timeout(60)
def test_replay_api_passes_the_unchanged_code(histories: list[list[Event]]) -> None:
    report = replay(histories, [replay_v1.checkout, replay_v1.reserve])
    assert [r.verdict for r in report.runs] == ["ok", "ok"] and report.passed
    report.raise_on_divergence()  # nothing to raise


@pytest.mark.timeout(60)
def test_replay_api_finds_the_reordered_activity_with_its_seq_and_both_names(
    histories: list[list[Event]],
) -> None:
    report = replay(histories, [replay_v2.checkout])
    assert not report.passed and len(report.of("diverged")) == 2
    first = report.runs[0]
    assert first.seq == _first_activity(histories[0]).seq
    assert (first.recorded, first.requested) == ("activity 'reserve'", "activity 'charge'")
    with pytest.raises(ReplayDiverged, match=r"diverged at seq \d+") as raised:
        report.raise_on_divergence()
    assert len(raised.value.failures) == 2 and "ctx.patched(" in str(raised.value)


@pytest.mark.timeout(60)
def test_replay_api_passes_the_same_change_made_behind_a_patch(
    histories: list[list[Event]],
) -> None:
    report = replay(histories, [replay_v3.checkout])
    assert [r.verdict for r in report.runs] == ["ok", "ok"] and report.passed


@workflow(name="checkout")
async def reserves_only(ctx: WorkflowContext, item: str, amount: int, extra: Any) -> str:
    await ctx.activity(replay_v1.reserve, item, extra)
    return "no charge"


@workflow(name="checkout")
async def refuses_after_both(ctx: WorkflowContext, item: str, amount: int, extra: Any) -> None:
    await ctx.activity(replay_v1.reserve, item, extra)
    await ctx.activity(replay_v1.charge, amount)
    raise WorkflowError("refused now")


@workflow(name="checkout")
async def charges_twice(ctx: WorkflowContext, item: str, amount: int, extra: Any) -> None:
    await ctx.activity(replay_v1.reserve, item, extra)
    await ctx.activity(replay_v1.charge, amount)
    await ctx.activity(replay_v1.charge, amount)


@workflow(name="checkout")
async def breaks(ctx: WorkflowContext, item: str, amount: int, extra: Any) -> None:
    await ctx.activity(replay_v1.reserve, item, extra)
    raise KeyError("a bug")


@pytest.mark.timeout(60)
def test_a_removed_activity_diverges_at_the_recorded_command_no_longer_asked_for(
    histories: list[list[Event]],
) -> None:
    (run,) = replay(histories[:1], [reserves_only]).runs
    charge = [e for e in histories[0] if isinstance(e, ev.ActivityScheduled)][1]
    assert (run.verdict, run.seq, run.recorded) == ("diverged", charge.seq, "activity 'charge'")
    assert run.requested == "nothing more (the code ended the run)"


@pytest.mark.timeout(60)
def test_a_closed_run_whose_code_now_ends_otherwise_or_goes_on_diverges_at_its_end(
    histories: list[list[Event]],
) -> None:
    end = histories[0][-1]
    assert isinstance(end, ev.WorkflowCompleted)
    (refused,) = replay(histories[:1], [refuses_after_both]).runs
    assert (refused.verdict, refused.seq) == ("diverged", end.seq)
    assert refused.recorded == "the run's end (WorkflowCompleted)"
    assert refused.requested == "the run's end (WorkflowFailed: WorkflowError: refused now)"
    (longer,) = replay(histories[:1], [charges_twice]).runs
    assert (longer.verdict, longer.seq, longer.requested) == (
        "diverged",
        end.seq,
        "activity 'charge'",
    )


@pytest.mark.timeout(60)
def test_code_that_raises_on_replay_fails_the_run_and_the_report(
    histories: list[list[Event]],
) -> None:
    (run,) = replay(histories[:1], [breaks]).runs
    assert run.verdict == "failed" and "KeyError" in run.detail and not run.passed


@pytest.mark.timeout(60)
def test_a_run_whose_type_is_not_given_is_skipped_and_passes(
    histories: list[list[Event]],
) -> None:
    (run,) = replay(histories[:1], [replay_v1.held]).runs
    assert (run.verdict, run.detail) == ("skipped", "type checkout not in the app")
    assert run.passed


@pytest.mark.timeout(60)
def test_replay_api_reads_exported_files_and_keeps_their_ids(
    histories: list[list[Event]], tmp_path: Path
) -> None:
    path = tmp_path / "c-1.json"
    write_history_file(History.of(histories[0], workflow_id="c-1"), path)
    report = replay([path, str(path)], [replay_v1.checkout])
    assert [(r.workflow_id, r.verdict, r.source) for r in report.runs] == [
        ("c-1", "ok", str(path))
    ] * 2
    assert replay([path], [replay_v2.checkout]).runs[0].verdict == "diverged"


def test_a_history_without_its_start_is_refused_by_name() -> None:
    with pytest.raises(Exception, match="begins with TimerFired, not WorkflowStarted"):
        replay([[ev.TimerFired(timer_id="t", seq=2)]], [replay_v1.checkout])


@pytest.mark.timeout(60)
def test_a_bad_file_gets_its_own_failed_verdict_and_the_other_files_are_replayed(
    histories: list[list[Event]], tmp_path: Path
) -> None:
    good = tmp_path / "c-1.json"
    write_history_file(History.of(histories[0], workflow_id="c-1"), good)
    cut = tmp_path / "cut.json"
    cut.write_text(good.read_text()[:300])
    report = replay([good, cut, str(good)], [replay_v1.checkout])
    assert [r.verdict for r in report.runs] == ["ok", "failed", "ok"] and not report.passed
    bad = report.runs[1]
    assert (bad.source, bad.workflow_id) == (str(cut), "")
    assert "cannot read it as JSON" in bad.detail and "export it again with" in bad.detail
    assert bad.describe().startswith(f"history file {cut}: failed (")
