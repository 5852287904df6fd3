"""What a live run reports: counts, histograms, and its spans, linked parent to child."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import Engine
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
