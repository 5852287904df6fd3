"""The restart-policy simulator: what it records must be what the policy did."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aion_actors.bench.harness import HarnessError, Report, get_scenario

POLICY = get_scenario("policy")


def _simulate(**overrides: Any) -> Report:
    params = POLICY.params(quick=True, overrides={"ceiling_samples": 3, **overrides})
    return POLICY.run(params)


def _kinds(report: Report) -> list[str]:
    return [e["kind"] for e in report.series["timeline"]]


def _figure(report: Report, name: str) -> float:
    return next(f.value for f in report.figures if f.name == name)


def _wait_for_threads(count: int) -> None:
    deadline = time.monotonic() + 10
    while threading.active_count() > count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= count, threading.enumerate()


def test_crash_every_interval_exhausts_after_max_restarts_with_exact_backoffs() -> None:
    threads = threading.active_count()
    report = _simulate(max_restarts=2, backoff_initial=0.01, backoff_multiplier=2.0, interval_ms=20)
    assert _kinds(report) == [
        "crash",
        "backoff",
        "restart",
        "crash",
        "backoff",
        "restart",
        "crash",
        "exhausted",
    ]
    waits = [e["duration"] for e in report.series["timeline"] if e["kind"] == "backoff"]
    assert waits == pytest.approx([0.01, 0.02])
    assert _figure(report, "exhausted") == 1
    assert _figure(report, "restarts_before_exhaustion") == 2
    assert _figure(report, "mean_backoff_ms") == pytest.approx(15.0)
    assert report.series["timeline"][-1]["scope"] == "supervisor"
    _wait_for_threads(threads)


def test_a_burst_within_the_intensity_is_survived() -> None:
    report = _simulate(
        pattern="burst", burst=3, max_restarts=5, interval_ms=10, backoff_initial=0.0, duration=1.0
    )
    assert _kinds(report).count("crash") == 3
    assert _kinds(report).count("restart") == 3
    assert "exhausted" not in _kinds(report)
    assert _figure(report, "exhausted") == 0


def test_park_gives_up_each_flapping_child_on_its_own() -> None:
    report = _simulate(
        pattern="flapping",
        children=2,
        up_ms=50,
        down_ms=50,
        on_exhausted="park",
        max_restarts=1,
        backoff_initial=0.0,
    )
    exhausted = [e for e in report.series["timeline"] if e["kind"] == "exhausted"]
    assert sorted(e["child"] for e in exhausted) == ["child-1", "child-2"]
    assert {e["scope"] for e in exhausted} == {"child"}
    [described] = report.series["policy"]
    start, end = described["outages"][0]
    assert start == pytest.approx(0.05) and end > start


def test_policy_comes_from_the_config_file_and_flags_win(tmp_path: Path) -> None:
    config = tmp_path / "aion.toml"
    config.write_text(
        "[restart.default]\nmax_restarts = 1\nbackoff_initial = 0.0\n"
        "[restart.checkout]\nmax_restarts = 2\nwithin_seconds = 9.0\n"
    )
    report = _simulate(
        config=str(config), workflow_type="checkout", within_seconds=7.0, interval_ms=10
    )
    [described] = report.series["policy"]
    assert "max 2 restarts in 7 s" in described["summary"]
    assert _figure(report, "restarts_before_exhaustion") == 2


def test_unknown_config_key_names_file_table_and_key(tmp_path: Path) -> None:
    config = tmp_path / "aion.toml"
    config.write_text("[restart.default]\nmax_retries = 3\n")
    with pytest.raises(HarnessError, match=r"aion\.toml: \[restart\.default\].*'max_retries'"):
        _simulate(config=str(config))


def test_invalid_policy_values_are_reported() -> None:
    with pytest.raises(HarnessError, match="invalid restart policy"):
        _simulate(strategy="one_for_some")
    with pytest.raises(HarnessError, match="pattern"):
        _simulate(pattern="sometimes")
