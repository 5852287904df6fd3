"""The timeline model alone: bars open while a run is open, close where history closes
them, and always fit the span."""

from __future__ import annotations

from aion_actors.core import events as ev
from aion_actors.web.timeline import Bar, timeline

S = 1_000_000_000  # one second in ns


def _events() -> list[ev.Event]:
    return [
        ev.WorkflowStarted(seq=1, recorded_at=0, workflow_type="t", input=[], run_id="r",
                           version="v"),
        ev.ActivityScheduled(seq=2, recorded_at=1 * S, activity_id="1", name="pay", input=[]),
        ev.ActivityAttemptFailed(seq=3, recorded_at=2 * S, activity_id="1", attempt=1,
                                 error={"type": "E", "message": "down"}, retry_at=4 * S),
        ev.ActivityScheduled(seq=4, recorded_at=4 * S, activity_id="1", name="pay", input=[],
                             attempt=2),
    ]  # fmt: skip


def test_an_open_runs_attempt_and_run_bar_reach_now_and_stay_in_the_span() -> None:
    line = timeline(_events(), "running", now=10 * S)
    assert (line.start, line.end) == (0, 10 * S)
    run, activity = line.lanes
    assert run.bars == (Bar(0, None, "running", "running"),)
    failed, backoff, second = activity.bars
    assert (failed.state, failed.detail) == ("retry", "E: down")
    assert (backoff.start, backoff.end, backoff.state) == (2 * S, 4 * S, "backoff")
    assert (second.label, second.end, second.state) == ("attempt 2", None, "open")
    assert line.left(second.start) == 40.0 and line.width(second) == 60.0
    assert line.attempts_failed == 1 and line.crashes == 0
    for bar in (*run.bars, *activity.bars):
        assert line.left(bar.start) >= 0 and line.left(bar.start) + line.width(bar) <= 100


def test_a_closed_runs_span_ends_at_its_last_event() -> None:
    events = [
        *_events(),
        ev.ActivityCompleted(seq=5, recorded_at=5 * S, activity_id="1", result=1),
        ev.RunCrashed(seq=6, recorded_at=6 * S, pid=3, error={"type": "R", "message": "x"}),
        ev.RunRestarted(seq=7, recorded_at=7 * S, attempt=1, pid=4, backoff=0.1),
        ev.WorkflowCompleted(seq=8, recorded_at=8 * S, result=1),
    ]
    line = timeline(events, "completed", now=100 * S)
    assert line.end == 8 * S and line.lanes[0].bars[0].end == 8 * S
    assert [m.kind for m in line.lanes[0].marks] == ["crash", "restart"]
    assert line.lanes[1].bars[-1].state == "ok"
