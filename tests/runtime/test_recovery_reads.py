"""A run that startup recovery found with an attempt in flight replays, when that attempt's
outcome brings it back, from the history recovery read: not from a second read of the store —
unless something was appended for it meanwhile."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from aion_actors import Engine, EngineClosed
from aion_actors.core import AionError
from aion_actors.core import events as ev
from aion_actors.core.events import Event
from aion_actors.store import LmdbStore
from tests.crashes import kill_at_ready
from tests.runtime import flows

RUNS = 20


class CountingStore(LmdbStore):
    """A real LMDB store that counts the whole-history reads of each run (one by one or
    in a batch)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.whole_reads: Counter[str] = Counter()

    def read(
        self, workflow_id: str, run_id: str, from_seq: int = 1, until: int | None = None
    ) -> list[Event]:
        if from_seq <= 1 and until is None:
            self.whole_reads[workflow_id] += 1
        return super().read(workflow_id, run_id, from_seq, until)

    def read_many(self, runs: Sequence[tuple[str, str]]) -> list[list[Event] | AionError]:
        self.whole_reads.update(workflow_id for workflow_id, _run_id in runs)
        return super().read_many(runs)


def _killed_with_attempts_in_flight(tmp_path: Path) -> tuple[Path, Path]:
    data, ledger = tmp_path / "data", tmp_path / "ledger"
    kill_at_ready("tests.runtime.gated_child", data, ledger, RUNS)
    Path(str(ledger) + ".gate").touch()
    return data, ledger


@pytest.mark.timeout(120)
def test_a_recovered_run_is_replayed_from_the_history_recovery_read_not_a_second_read(
    tmp_path: Path,
) -> None:
    data, _ledger = _killed_with_attempts_in_flight(tmp_path)
    store = CountingStore(data)
    with Engine(store, workers=1) as engine:
        engine.register(flows.gated_pair, flows.gated_step)
        results = [engine.result(f"gated-{i}", timeout=60) for i in range(RUNS)]
        reads = dict(store.whole_reads)
    assert results == [i + 2 for i in range(RUNS)]
    assert reads == {f"gated-{i}": 1 for i in range(RUNS)}, "a history was read twice"


@pytest.mark.timeout(120)
def test_a_run_written_for_before_its_replay_is_replayed_from_its_whole_history(
    tmp_path: Path,
) -> None:
    data, _ledger = _killed_with_attempts_in_flight(tmp_path)
    store = CountingStore(data)
    with Engine(store, workers=1) as engine:
        engine.register(flows.gated_step)  # its outcome comes back; its workflow type not yet
        engine.signal("gated-0", "poke", 1)  # recorded on its behalf while it waits for its type
        engine.register(flows.gated_pair)
        assert engine.result("gated-0", timeout=60) == 2
        history = engine.history("gated-0")
    assert any(isinstance(e, ev.SignalReceived) for e in history)
    assert not any(isinstance(e, ev.RunCrashed) for e in history), "replayed a stale history"
    assert [e.seq for e in history] == list(range(1, len(history) + 1))


@pytest.mark.timeout(120)
def test_a_run_given_up_and_taken_back_is_replayed_from_what_the_second_recovery_read(
    tmp_path: Path,
) -> None:
    """As a node does when it loses a partition and takes it back: the history the first
    recovery kept is forgotten, since another node's appends bypassed this recorder."""
    data, _ledger = _killed_with_attempts_in_flight(tmp_path)
    store = CountingStore(data)
    mine = "gated-0"
    with Engine(store, workers=1) as engine:  # nothing registered yet: nothing replays
        runs = engine._parts.runs  # noqa: SLF001 (the node verbs: drop, then recover again)
        runs.drop(lambda workflow_id: workflow_id == mine, lambda key: EngineClosed())
        run_id = store.latest_run(mine).run_id  # type: ignore[union-attr]
        poke = ev.SignalReceived(name="poke", payload=1)
        store.append(mine, run_id, [poke], store.head(mine, run_id))  # "another node"
        runs.recover(lambda workflow_id: workflow_id == mine)
        engine.register(flows.gated_pair, flows.gated_step)
        assert engine.result(mine, timeout=60) == 2
        history = engine.history(mine)
    assert any(isinstance(e, ev.SignalReceived) for e in history)
    assert not any(isinstance(e, ev.RunCrashed) for e in history), "replayed a stale history"
