"""While an engine is open, CPython's default collector thresholds are raised (a full
collection walks every resident run, and queues of in-flight work set them off); an
application's own thresholds are left alone; the last engine to close puts them back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.runtime.collector import CPYTHON_THRESHOLDS, ENGINE_THRESHOLDS, Collector
from aion_actors.store import MemoryStore


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*CPYTHON_THRESHOLDS)
    yield
    gc.set_threshold(*before)


def test_an_open_engine_raises_the_default_thresholds_and_its_close_puts_them_back() -> None:
    with Engine(MemoryStore(), workers=1):
        assert gc.get_threshold() == ENGINE_THRESHOLDS
    assert gc.get_threshold() == CPYTHON_THRESHOLDS


def test_thresholds_an_application_set_are_left_alone(tmp_path: Path) -> None:
    gc.set_threshold(2_000, 20, 20)
    with Engine.open(tmp_path / "data", workers=1):
        assert gc.get_threshold() == (2_000, 20, 20)
    assert gc.get_threshold() == (2_000, 20, 20)


def test_the_thresholds_stay_raised_until_the_last_open_engine_closes() -> None:
    first = Engine(MemoryStore(), workers=1)
    with Engine(MemoryStore(), workers=1):
        first.close()
        assert gc.get_threshold() == ENGINE_THRESHOLDS
    assert gc.get_threshold() == CPYTHON_THRESHOLDS


def test_thresholds_changed_while_engines_were_open_are_not_overwritten_at_close() -> None:
    collector = Collector()
    collector.hold()
    gc.set_threshold(5_000, 5, 5)
    collector.release()
    assert gc.get_threshold() == (5_000, 5, 5)


@pytest.mark.timeout(60)
def test_a_recovery_sized_burst_of_live_objects_sets_off_no_middle_or_full_collection() -> None:
    """Half a million objects that stay alive (as the runs of a recovery do) are walked by
    young collections only: under a middle threshold of 10 they set off several middle ones."""
    older: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] > 0:
            older.append(info["generation"])

    with Engine(MemoryStore(), workers=1):
        gc.collect()
        gc.callbacks.append(count)
        try:
            kept = [[i] for i in range(500_000)]
        finally:
            gc.callbacks.remove(count)
    assert len(kept) == 500_000
    assert older == []
