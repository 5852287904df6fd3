"""Must-show 2: SIGKILL at a random moment loses no acknowledged event and tears no batch."""

from __future__ import annotations

import random
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest

from aion_actors.core import Event
from aion_actors.store import LmdbStore
from tests.forker import Forker
from tests.store.conftest import wait_until
from tests.store.crash_child import WORKFLOW

CHILD = "tests.store.crash_child"
REPETITIONS = 20


def _acks(path: Path) -> list[tuple[str, int, int, str]]:
    """Acknowledged appends; a line the kill cut short was never complete, so never relied on."""
    if not path.exists():
        return []
    lines = path.read_text().split("\n")[:-1]
    return [
        (run, int(first), int(last), batch) for run, first, last, batch in map(str.split, lines)
    ]


def _check_history(run: str, events: list[Event]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), f"{run}: gap in seqs"
    by_batch: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_batch[event.payload["batch"]].append(event)  # type: ignore[attr-defined]
    for batch, members in by_batch.items():
        size = members[0].payload["size"]  # type: ignore[attr-defined]
        assert [e.payload["i"] for e in members] == list(range(size)), f"torn batch {batch}"  # type: ignore[attr-defined]
        assert members[-1].seq - members[0].seq == size - 1, f"batch {batch} is not contiguous"


def _run_and_kill(forker: Forker, data: Path, acks_path: Path, tag: str, delay: float) -> None:
    """Start the child, wait until it has acknowledged a batch, then SIGKILL it after `delay`."""
    acknowledged_before = len(_acks(acks_path))
    child = forker.start(CHILD, data, acks_path, tag)
    try:
        assert child.stdout.readline() == b"ready\n"
        wait_until(lambda: len(_acks(acks_path)) > acknowledged_before, "a first acknowledgement")
        time.sleep(delay)
    finally:
        child.kill()
    assert child.wait() == -signal.SIGKILL, "the child died before it was killed"


@pytest.mark.timeout(240)
def test_sigkill_loses_no_acknowledged_event_and_tears_no_batch(tmp_path: Path) -> None:
    data, acks_path = tmp_path / "data", tmp_path / "acks"
    rng = random.Random()
    with Forker(CHILD) as forker:  # the children start without importing the store anew
        for repetition in range(REPETITIONS):
            _run_and_kill(forker, data, acks_path, str(repetition), rng.uniform(0.0, 0.2))
            with LmdbStore(data) as store:
                histories = {s.run_id: store.read(WORKFLOW, s.run_id) for s in store.runs()}
                for summary in store.runs():
                    assert summary.head == len(histories[summary.run_id])
            for run, events in histories.items():
                _check_history(run, events)
            for run, first, last, batch in _acks(acks_path):
                found = histories.get(run, [])[first - 1 : last]
                assert [e.payload["batch"] for e in found] == [batch] * (last - first + 1), (  # type: ignore[attr-defined]
                    f"acknowledged batch {batch} ({run} seq {first}..{last}) is missing after kill "
                    f"{repetition}"
                )
