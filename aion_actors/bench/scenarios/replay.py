"""``replay``: histories per second through the CI replayer, against reading them alone.

A data directory is filled with ``long_runs`` histories of ``long_events``
events and ``short_runs`` of ``short_events`` (a workflow awaiting one
activity after another: ``WorkflowStarted``, a scheduled/completed pair per
activity, ``WorkflowCompleted``), written as the engine records them. Then,
for each size, from a store opened read-only:

- ``store_read_histories_per_s`` (the ceiling): ``LmdbStore.read`` of every
  history into event objects, nothing more;
- ``replayed_histories_per_s``: the same reads, each history then replayed
  by ``aion_actors.testing.replay_each`` against the workflow's code — what
  ``aion-actors replay DIR`` does per run. Every verdict must be ``ok``, or
  the scenario fails: a replayer that skipped its work would be fast.

The ratio says what share of the store's raw read rate the replayer keeps.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aion_actors.bench.harness import Figure, Params, Report, scenario
from aion_actors.core import Event, new_run_id
from aion_actors.core import events as ev
from aion_actors.runtime.context import WorkflowContext
from aion_actors.runtime.definitions import activity, workflow
from aion_actors.store import LmdbStore
from aion_actors.testing import History, replay_each

_CHUNK = 2_000


@activity(executor="thread")
def step(i: int) -> int:
    return i


@workflow(name="bench_steps")
async def steps(ctx: WorkflowContext, count: int) -> int:
    total = 0
    for i in range(count):
        total += await ctx.activity(step, i)
    return total


@scenario(
    "replay",
    help="histories/s replayed against the current code (10,000- and 10-event histories), "
    "against the store's read rate of the same histories",
    defaults={"long_events": 10_000, "long_runs": 20, "short_events": 10, "short_runs": 5_000},
    quick={"long_events": 2_000, "long_runs": 3, "short_runs": 300},
)
def run(params: Params) -> Report:
    sizes = [
        (int(params["long_events"]), int(params["long_runs"])),
        (int(params["short_events"]), int(params["short_runs"])),
    ]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="aion-bench-replay-") as tmp:
        data = Path(tmp) / "data"
        with LmdbStore(data, durability="nosync") as store:
            for events, runs in sizes:
                for index in range(runs):
                    _write(store, f"h{events}-{index}", events)
        with LmdbStore(data, readonly=True) as store:
            for events, runs in sizes:
                figures += _measure(store, events, runs)
    return Report(figures)


def _measure(store: LmdbStore, events: int, runs: int) -> list[Figure]:
    """Read every history of `events` events, then read and replay each; as figures."""
    summaries = [store.latest_run(f"h{events}-{i}") for i in range(runs)]
    keys = [(s.workflow_id, s.run_id) for s in summaries if s is not None]
    read = _timed(_read_all, store, keys)
    replayed = _timed(_replay_all, store, keys)
    labels = {"events": events}
    return [
        Figure(
            "store_read_histories_per_s",
            runs / read,
            "histories/s",
            labels=labels,
            is_ceiling=True,
        ),
        Figure(
            "replayed_histories_per_s",
            runs / replayed,
            "histories/s",
            labels=labels,
            ceiling="store_read_histories_per_s",
        ),
        Figure("replayed_events_per_s", runs * events / replayed, "events/s", labels=labels),
    ]


def _read_all(store: LmdbStore, keys: list[tuple[str, str]]) -> int:
    return sum(len(store.read(*key)) for key in keys)


def _replay_all(store: LmdbStore, keys: list[tuple[str, str]]) -> int:
    def histories() -> Iterator[History]:
        for workflow_id, run_id in keys:
            yield History.of(store.read(workflow_id, run_id), workflow_id=workflow_id)

    verdicts = list(replay_each(histories(), [steps]))
    wrong = [v.describe() for v in verdicts if v.verdict != "ok"]
    if wrong or len(verdicts) != len(keys):
        raise AssertionError(f"{len(wrong)} histories did not replay: {wrong[:3]}")
    return len(verdicts)


def _timed(work: Callable[[LmdbStore, list[tuple[str, str]]], int], *args: Any) -> float:
    began = time.perf_counter()
    work(*args)
    return time.perf_counter() - began


def _write(store: LmdbStore, workflow_id: str, events: int) -> None:
    """A history of exactly `events` events, as `steps` records it live."""
    count = (events - 2) // 2
    if count * 2 + 2 != events or count < 1:
        raise ValueError(f"a steps history has an even number of events >= 4, not {events}")
    run_id, head = new_run_id(), 0
    for chunk in _chunks(_history(count, run_id)):
        head = store.append(workflow_id, run_id, chunk, head)


def _history(count: int, run_id: str) -> Iterator[Event]:
    yield ev.WorkflowStarted(
        workflow_type=steps.name, input=[count], run_id=run_id, version=steps.version
    )
    for i in range(count):
        yield ev.ActivityScheduled(activity_id=str(i + 1), name=step.name, input=[i])
        yield ev.ActivityCompleted(activity_id=str(i + 1), result=i)
    yield ev.WorkflowCompleted(result=count * (count - 1) // 2)


def _chunks(events: Iterator[Event]) -> Iterator[list[Event]]:
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
