"""What a `replay` verdict tells the user to do: the patch a run took, the ids it ran with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.cli import main
from aion_actors.core import Event
from aion_actors.testing import PATCH_HINT, History, ReplayDiverged, replay, write_history_file
from tests.workers.helpers import wait_until

WAIT = 30.0
HERE = "tests.testing.test_replay_hints"


@activity(executor="thread")
def old_step(n: int) -> int:
    return n


@activity(executor="thread")
def new_step(n: int) -> int:
    return n


@workflow(name="patched")
async def with_patch(ctx: WorkflowContext, n: int) -> int:
    if ctx.patched("use-new"):
        got = await ctx.activity(new_step, n)
    else:
        got = await ctx.activity(old_step, n)
    await ctx.wait_signal("go")
    return got


@workflow(name="patched")  # the patch removed while runs that took it are open
async def patch_removed(ctx: WorkflowContext, n: int) -> int:
    got = await ctx.activity(new_step, n)
    await ctx.wait_signal("go")
    return got


@workflow(name="patched")  # the patched branch changed again, unpatched: a plain divergence
async def swapped(ctx: WorkflowContext, n: int) -> int:
    ctx.patched("use-new")
    got = await ctx.activity(old_step, n)
    await ctx.wait_signal("go")
    return got


#: for `--app tests.testing.test_replay_hints:REMOVED`
REMOVED = [patch_removed, new_step]


@pytest.fixture(scope="module")
def took_patch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Event]]:
    """An open run of `with_patch` that took patch `use-new`."""
    data = tmp_path_factory.mktemp("hints") / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(with_patch, old_step, new_step)
        engine.start(with_patch, 1, workflow_id="p-1")
        wait_until(
            lambda: any(e.kind == "ActivityCompleted" for e in engine.history("p-1")),
            WAIT,
            "p-1's activity",
        )
        yield engine.history("p-1")


PATCH_ADVICE = "add ctx.patched('use-new') (or ctx.deprecate_patch)"


@pytest.mark.timeout(60)
def test_a_patch_removed_too_early_names_the_patch_and_what_to_add(
    took_patch: list[Event],
) -> None:
    history = History.of(took_patch, workflow_id="p-1")
    report = replay([history], [patch_removed])
    (run,) = report.runs
    assert (run.verdict, run.patch) == ("diverged", "use-new")
    assert PATCH_ADVICE in run.hint and "<patch-id>" not in run.hint
    with pytest.raises(ReplayDiverged) as raised:
        report.raise_on_divergence()
    assert PATCH_ADVICE in str(raised.value) and PATCH_HINT not in str(raised.value)
    (plain,) = replay([history], [swapped]).runs
    assert (plain.verdict, plain.patch, plain.hint) == ("diverged", None, PATCH_HINT)


@pytest.mark.timeout(60)
def test_the_cli_prints_the_patch_advice_for_a_patch_removed_too_early(
    took_patch: list[Event], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p-1.json"
    write_history_file(History.of(took_patch, workflow_id="p-1"), path)
    assert main(["replay", "--from-files", str(path), "--app", f"{HERE}:REMOVED"]) == 1
    out = capsys.readouterr().out
    assert PATCH_ADVICE in out and "<patch-id>" not in out, out


@workflow(name="peer")
async def peer(ctx: WorkflowContext) -> str:
    await ctx.wait_signal("hello")
    return "greeted"


@workflow(name="pinger")
async def pinger(ctx: WorkflowContext) -> str:
    await ctx.external(f"{ctx.workflow_id}-peer").signal("hello")
    return "pinged"


@pytest.fixture(scope="module")
def pinged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Event]]:
    """A completed run of `pinger`, whose code reads its own workflow_id."""
    data = tmp_path_factory.mktemp("ids") / "data"
    with Engine.open(data, workers=1) as engine:
        engine.register(peer, pinger)
        engine.start(peer, workflow_id="order-1-peer")
        assert engine.start(pinger, workflow_id="order-1").result(WAIT) == "pinged"
        yield engine.history("order-1")


@pytest.mark.timeout(60)
def test_histories_keyed_by_workflow_id_replay_with_their_ids(pinged: list[Event]) -> None:
    (run,) = replay({"order-1": pinged}, [pinger]).runs
    assert (run.workflow_id, run.verdict) == ("order-1", "ok"), run.describe()
    (given,) = replay([History.of(pinged, workflow_id="order-1")], [pinger]).runs
    assert given.verdict == "ok"


@pytest.mark.timeout(60)
def test_a_plain_event_list_says_its_workflow_id_was_made_up_when_that_diverges(
    pinged: list[Event],
) -> None:
    (run,) = replay([pinged], [pinger]).runs
    made_up = f"replay-{run.run_id}"
    assert (run.workflow_id, run.verdict) == (made_up, "diverged")
    assert "hold no workflow_id" in run.detail and f"ctx.workflow_id {made_up!r}" in run.detail
    assert "replay({workflow_id: events}, ...)" in run.detail
    assert run.detail in run.describe()
