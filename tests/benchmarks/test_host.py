"""The host settings a scenario may vary are set for the scenario only."""

from __future__ import annotations

import gc

import pytest

from benchmarks.host import collector


def test_the_collector_threshold_holds_inside_and_is_restored_after() -> None:
    before = gc.get_threshold()
    with collector(12_345) as label:
        assert gc.get_threshold() == (12_345, *before[1:])
        assert label == "12345"
    assert gc.get_threshold() == before
    with collector(None) as label:
        assert gc.get_threshold() == before
        assert label == "default"


def test_a_bad_threshold_names_the_parameter_and_changes_nothing() -> None:
    before = gc.get_threshold()
    for bad in (0, -5, "10000", 2.5):
        with pytest.raises(ValueError, match="gc_threshold"), collector(bad):  # type: ignore[arg-type]
            pass
    assert gc.get_threshold() == before
