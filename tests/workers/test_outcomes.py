"""How a pool's attempts end, decided without a worker process: `_outcomes` alone."""

from __future__ import annotations

from typing import Any

from aion_actors.core import packb
from aion_actors.workers import CancelReason, Outcome, Task, _outcomes, _worker
from aion_actors.workers._process import Job
from tests.workers.helpers import attempt


def _job(name: str, *, timeout: float | None = None, early: Outcome | None = None) -> Job:
    return Job(Task(name, [], attempt(), timeout), lambda _: None, None, early)


def test_a_reply_frame_is_the_result_the_error_or_an_oversized_result() -> None:
    task = _job("echo").task
    ok = [_worker.OK, "x" * 100]
    assert _outcomes.reply(ok, len(packb(ok)), task, 1000) == Outcome(ok=True, result="x" * 100)
    error: dict[str, Any] = {"type": "ValueError", "message": "no"}
    failed = [_worker.ERROR, error]
    assert _outcomes.reply(failed, len(packb(failed)), task, 10) == Outcome(ok=False, error=error)

    over = _outcomes.reply(ok, len(packb(ok)), task, 99)

    assert not over.ok and over.error is not None
    assert "encodes to 102 bytes, over the 99-byte payload limit" in over.error["message"]
    assert "activity 'echo'" in over.error["message"]


def test_an_attempt_cut_short_is_closed_timed_out_or_crashed() -> None:
    job = _job("slow", timeout=2.0)

    def kind(**how: bool) -> str:
        outcome = _outcomes.cut_short(job, -9, **how)
        assert outcome.error is not None
        return str(outcome.error["type"])

    assert kind(stopping=True, killed=True) == "ExecutorClosed"
    assert kind(stopping=False, killed=True) == "AttemptTimeout"
    assert kind(stopping=False, killed=False) == "WorkerCrashed"
    crash = _outcomes.cut_short(job, -9, stopping=False, killed=False).error
    assert crash is not None and "killed by SIGKILL" in crash["message"]


def test_an_attempt_killed_for_ignoring_its_cancel_is_recorded_with_why_it_was_told() -> None:
    job = _job("slow")
    job.cancel_reason = CancelReason.LOST_WAIT_FIRST
    killed = _outcomes.cut_short(job, -9, stopping=False, killed=True, why="cancel", grace=1)
    assert killed.error is not None and killed.error["type"] == "ActivityCancelled"
    assert "was cancelled: its await lost a ctx.wait_first" in killed.error["message"]
    assert "did not stop within 1 s of being asked" in killed.error["message"]


def test_triage_keeps_the_order_and_answers_early_unavailable_then_broken() -> None:
    early = Outcome(ok=True, result=1)
    gone = Outcome(ok=False, error={"type": "ActivityUnavailable", "message": "gone"})
    jobs = [_job("a"), _job("gone"), _job("b"), _job("gone", early=early)]

    def unavailable(name: str) -> Outcome | None:
        return gone if name == "gone" else None

    runnable, answered = _outcomes.triage(jobs, unavailable, None)
    assert runnable == [jobs[0], jobs[2]]
    assert answered == [(jobs[1], gone), (jobs[3], early)]

    broken = {"type": "WorkerStartFailed", "message": "no worker starts"}
    runnable, answered = _outcomes.triage(jobs, unavailable, broken)
    assert runnable == []
    assert [outcome for _, outcome in answered] == [
        Outcome(ok=False, error=broken),
        gone,
        Outcome(ok=False, error=broken),
        early,
    ]


def test_a_hand_off_reply_carries_what_is_left_of_the_attempts_timeout() -> None:
    later: dict[str, Any] = {"type": "CompleteLater", "message": "m", "complete_later": True}
    frame = [_worker.ERROR, later]
    timed = _outcomes.reply(frame, len(packb(frame)), _job("ask", timeout=5.0).task, 1000, 3.5)
    assert timed == Outcome(ok=False, error={**later, "attempt_timeout": 5.0, "timeout_left": 3.5})
    untimed = _outcomes.reply(frame, len(packb(frame)), _job("ask").task, 1000, None)
    assert untimed == Outcome(ok=False, error=later)
    other: dict[str, Any] = {"type": "ValueError", "message": "no"}
    failed = [_worker.ERROR, other]
    plain = _outcomes.reply(failed, len(packb(failed)), _job("ask", timeout=5.0).task, 1000, 3.5)
    assert plain == Outcome(ok=False, error=other)  # only a hand-off takes its clock along
