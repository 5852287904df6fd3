"""`replay` on code that would fail runs in flight: a `failed` verdict naming why.

The runs here were recorded by the `*_v1` workflows and are still open (each waits
for a signal after its first activity), but one closed run is recorded too: the
changed code must fail the open runs' verdicts, never pass them or stop the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aion_actors import (
    Engine,
    RetryPolicy,
    TypedConverter,
    WorkflowContext,
    WorkflowError,
    WorkflowFailed,
    activity,
    workflow,
)
from aion_actors.core import Event
from aion_actors.testing import History, ReplayDiverged, replay
from tests.workers.helpers import wait_until

WAIT = 30.0


@dataclass
class QuoteV1:
    order_id: str
    total: int


@dataclass
class QuoteV2:  # gained a required field: a recorded QuoteV1 no longer decodes
    order_id: str
    total: int
    currency: str


@activity(executor="thread")
def fetch(n: int) -> int:
    return n


@activity(name="price", executor="thread")
def price_v1(order_id: str) -> QuoteV1:
    return QuoteV1(order_id, 100)


@activity(name="price", executor="thread")
def price_v2(order_id: str) -> QuoteV2:
    return QuoteV2(order_id, 100, "EUR")


@workflow(name="waits")
async def waits_v1(ctx: WorkflowContext, n: int) -> int:
    got = await ctx.activity(fetch, n)
    await ctx.wait_signal("go")
    return got


@workflow(name="waits")
async def waits_validates(ctx: WorkflowContext, n: int) -> int:
    got = await ctx.activity(fetch, n)
    if got < 10:  # new validation: the runs in flight with a small n now fail
        raise WorkflowError(f"n={got} is too small")
    await ctx.wait_signal("go")
    return got


@workflow(name="waits")
async def waits_with_currency(ctx: WorkflowContext, n: int, currency: str) -> int:
    got = await ctx.activity(fetch, n)
    await ctx.wait_signal("go")
    return got


@workflow(name="quote")
async def quote_v1(ctx: WorkflowContext, order_id: str) -> int:
    q = await ctx.activity(price_v1, order_id)
    await ctx.wait_signal("go")
    return q.total


@workflow(name="quote")
async def quote_v2(ctx: WorkflowContext, order_id: str) -> int:
    q = await ctx.activity(price_v2, order_id)
    await ctx.wait_signal("go")
    return q.total


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, History]]:
    """`waits-1` and `quote-1` open past their first activity; `waits-done` completed."""
    data = tmp_path_factory.mktemp("failures") / "data"
    with Engine.open(data, workers=1, converter=TypedConverter()) as engine:
        engine.register(waits_v1, quote_v1, fetch, price_v1)
        engine.start(waits_v1, 1, workflow_id="waits-1")
        engine.start(quote_v1, "o-1", workflow_id="quote-1")
        engine.start(waits_v1, 2, workflow_id="waits-done")
        engine.signal("waits-done", "go")
        assert engine.result("waits-done", timeout=WAIT) == 2

        def answered(workflow_id: str) -> bool:
            return any(e.kind == "ActivityCompleted" for e in engine.history(workflow_id))

        for workflow_id in ("waits-1", "quote-1"):
            wait_until(lambda w=workflow_id: answered(w), WAIT, f"{workflow_id}'s activity")
        yield {
            w: History.of(engine.history(w), workflow_id=w)
            for w in ("waits-1", "quote-1", "waits-done")
        }


def _events(history: History) -> list[Event]:
    return list(history.events)


@pytest.mark.timeout(60)
def test_the_recording_code_passes_the_open_runs(runs: dict[str, History]) -> None:
    report = replay(runs.values(), [waits_v1, quote_v1], converter=TypedConverter())
    assert [r.verdict for r in report.runs] == ["ok"] * 3


@pytest.mark.timeout(60)
def test_code_that_fails_an_open_run_on_replay_fails_its_verdict_naming_the_error(
    runs: dict[str, History],
) -> None:
    (run,) = replay([runs["waits-1"]], [waits_validates]).runs
    assert (run.workflow_id, run.verdict) == ("waits-1", "failed"), run.describe()
    assert "WorkflowError: n=1 is too small" in run.detail
    assert not replay([runs["waits-1"]], [waits_validates]).passed


@pytest.mark.timeout(60)
def test_a_recorded_result_that_no_longer_decodes_fails_naming_the_payload(
    runs: dict[str, History],
) -> None:
    (run,) = replay([runs["quote-1"]], [quote_v2], converter=TypedConverter()).runs
    assert run.verdict == "failed", run.describe()
    assert "result of activity 'price'" in run.detail
    assert "cannot be decoded as QuoteV2" in run.detail and "currency" in run.detail


@pytest.mark.timeout(60)
def test_a_workflow_that_gained_a_required_parameter_fails_each_run_and_checks_the_rest(
    runs: dict[str, History],
) -> None:
    histories = [runs["waits-1"], _events(runs["quote-1"]), runs["waits-done"]]
    report = replay(histories, [waits_with_currency, quote_v1], converter=TypedConverter())
    assert [(r.workflow_id, r.verdict) for r in report.runs] == [
        ("waits-1", "failed"),
        (report.runs[1].workflow_id, "ok"),
        ("waits-done", "failed"),
    ]
    detail = report.runs[0].detail
    assert "recorded start arguments, 1 argument (int), do not fit the code" in detail, detail
    assert "missing a required argument: 'currency'" in detail
    assert "a new parameter with a default" in detail and "the run is parked" in detail


@pytest.mark.timeout(60)
def test_an_open_run_of_a_type_not_given_fails_unless_unknown_types_are_allowed(
    runs: dict[str, History],
) -> None:
    histories = [runs["waits-1"], runs["waits-done"]]
    report = replay(histories, [quote_v1])
    (open_run, closed_run) = report.runs
    assert (open_run.verdict, closed_run.verdict) == ("failed", "skipped")
    assert open_run.unknown_type and closed_run.unknown_type and not report.passed
    assert "type waits not in the app, and this run is open" in open_run.detail
    with pytest.raises(ReplayDiverged, match="allow_unknown_types=True"):
        report.raise_on_divergence()
    allowed = replay(histories, [quote_v1], allow_unknown_types=True)
    assert [r.verdict for r in allowed.runs] == ["skipped", "skipped"] and allowed.passed


@activity(executor="thread", retry=RetryPolicy(max_attempts=1))
def refuses(n: int) -> int:
    raise ValueError(f"no {n}")


@workflow
async def gives_up(ctx: WorkflowContext, n: int) -> int:
    return int(await ctx.activity(refuses, n))


@pytest.mark.timeout(60)
def test_a_run_snapshotted_between_its_failed_activity_and_its_failure_passes(
    tmp_path: Path,
) -> None:
    """A history taken after `ActivityFailed` and before the `WorkflowFailed` it leads to
    (committed after it): the unchanged code failing there is the run's next step, not
    a failure to report (it used to be `failed`)."""
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(gives_up, refuses)
        with pytest.raises(WorkflowFailed):
            engine.start(gives_up, 1, workflow_id="g").result(timeout=WAIT)
        events = engine.history("g")
    cut = [e.kind for e in events].index("ActivityFailed") + 1
    assert events[cut].kind == "WorkflowFailed"
    snapshots = [History.of(events[:cut], workflow_id="g"), History.of(events, workflow_id="g")]
    report = replay(snapshots, [gives_up])
    assert [r.verdict for r in report.runs] == ["ok", "ok"], report.runs
