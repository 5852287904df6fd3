"""What a live run reports: counts, histograms, and its spans, linked parent to child."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowFailed
from tests.telemetry import flows
from tests.telemetry.capture import Capture, delta, named


@pytest.mark.timeout(60)
def test_a_run_reports_its_counts_and_spans_once_each(tmp_path: Path, otel: Capture) -> None:
    before = otel.read()
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        assert engine.start(flows.traced_parent, 1, workflow_id="p").result(timeout=30) == 4
        gauges = otel.read()
    after = otel.read()

    def gained(name: str, **attributes: object) -> float:
        return delta(before, after, name, **attributes)

    assert gained("aion.runs.started", workflow_type="traced_parent") == 1
    assert gained("aion.runs.started", workflow_type="traced_child") == 1
    assert gained("aion.runs.closed", workflow_type="traced_parent", outcome="completed") == 1
    assert gained("aion.runs.closed", workflow_type="traced_child", outcome="completed") == 1
    assert gained("aion.activity.attempts", activity="flaky") == 2
    assert gained("aion.activity.failures", activity="flaky") == 1
    assert gained("aion.activity.attempts", activity="double") == 1
    assert gained("aion.activity.duration", activity="flaky", outcome="failed") == 1
    assert gained("aion.activity.duration", activity="flaky", outcome="completed") == 1
    assert gained("aion.recorder.batch_size") >= 1
    assert gained("aion.recorder.commit_duration") == gained("aion.recorder.batch_size")
    assert ("aion.runs.open", frozenset()) in gauges
    assert ("aion.runs.resident", frozenset()) in gauges

    spans = otel.spans
    [parent] = named(spans, "run traced_parent")
    [child] = named(spans, "run traced_child")
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert child.context.trace_id == parent.context.trace_id
    assert parent.attributes is not None and parent.attributes["aion.outcome"] == "completed"
    assert not parent.attributes["aion.resumed"]
    flaky = named(spans, "activity flaky")
    assert sorted(s.attributes["aion.attempt"] for s in flaky if s.attributes) == [1, 2]
    assert {s.attributes["aion.outcome"] for s in flaky if s.attributes} == {"failed", "completed"}
    assert all(s.parent is not None and s.parent.span_id == parent.context.span_id for s in flaky)
    [double] = named(spans, "activity double")
    assert double.parent is not None and double.parent.span_id == child.context.span_id
    assert parent.start_time is not None and flaky[0].start_time is not None
    assert parent.start_time <= min(s.start_time or 0 for s in flaky)


@pytest.mark.timeout(60)
def test_a_crash_and_its_restart_are_spans_and_the_replay_repeats_no_attempt(
    tmp_path: Path, otel: Capture
) -> None:
    before = otel.read()
    flows.FAULTS["crashes"] = 1
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        assert engine.start(flows.crashes_once, workflow_id="c").result(timeout=30) == 2
    after = otel.read()
    assert delta(before, after, "aion.runs.crashes", workflow_type="crashes_once") == 1
    assert delta(before, after, "aion.runs.restarts", workflow_type="crashes_once") == 1
    assert delta(before, after, "aion.activity.attempts", workflow_type="crashes_once") == 1
    spans = otel.spans
    [run] = named(spans, "run crashes_once")
    [crash] = named(spans, "crash crashes_once")
    [restart] = named(spans, "restart crashes_once")
    assert len(named(spans, "activity double")) == 1
    for span in (crash, restart):
        assert span.parent is not None and span.parent.span_id == run.context.span_id
    assert "bug in workflow code" in (crash.status.description or "")


@pytest.mark.timeout(60)
def test_a_reset_run_reports_only_what_it_does_itself_not_the_prefix_it_copied(
    tmp_path: Path, otel: Capture
) -> None:
    from aion_actors.core import events as ev
    from tests.runtime import ops_flows

    ledger = str(tmp_path / "ledger")
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*ops_flows.ALL)
        failed = engine.start(ops_flows.three_steps, ledger, workflow_id="ops")
        with pytest.raises(WorkflowFailed):
            failed.result(timeout=10)
        done = [e.seq for e in engine.history("ops") if isinstance(e, ev.ActivityCompleted)]
        engine.register(ops_flows.step_fixed, replace=True)
        before = otel.read()
        engine.reset("ops", done[1], "step 3 fixed").result(timeout=10)
        after = otel.read()

    assert ops_flows.ran(ledger) == ["step 1", "step 2", "step 3", "step 3"]
    assert delta(before, after, "aion.activity.attempts", activity="step") == 1  # step 3 only
    assert delta(before, after, "aion.runs.started", workflow_type="three_steps") == 1
    runs = named(otel.spans, "run three_steps")
    assert sorted(s.attributes["aion.outcome"] for s in runs if s.attributes) == [
        "completed",
        "failed",
    ]  # the failed run's span ended with its failure, before the reset
    steps = named(otel.spans, "activity step")
    assert len(steps) == 4  # 1, 2, 3 (failed) in the first run; 3 again in the new one
