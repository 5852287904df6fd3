"""Targets judged on the ratio to a ceiling (``Figure(target_ratio=...)``), and the
throughput scenario's latency ceiling that uses one — never speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from aion_actors.bench.aggregate import aggregate
from aion_actors.bench.harness import Figure, Report, report_from_json, report_to_json
from aion_actors.bench.render import print_results

REPO = Path(__file__).resolve().parents[2]


def _latency(value: float, *, target_ratio: float | None = 1.5) -> Figure:
    return Figure("p50", value, "ms", better="lower", ceiling="chain", target_ratio=target_ratio)


def _chain(value: float) -> Figure:
    return Figure("chain", value, "ms", better="lower", is_ceiling=True)


def _entry(pairs: list[tuple[Figure, Figure]]) -> dict[str, Any]:
    entry = aggregate("s", {}, [Report([fig, ceiling]) for fig, ceiling in pairs])
    return next(f for f in entry["figures"] if f["name"] == "p50")


def _table(fig: dict[str, Any], *, quick: bool) -> str:
    console = Console(record=True, width=240)
    doc = {
        "args": {"quick": quick, "repeat": 1},
        "scenarios": {"s": {"figures": [fig], "series": {}}},
    }
    print_results(doc, console)
    return console.export_text()


def test_a_ratio_target_is_judged_on_the_paired_ratio_not_the_median() -> None:
    # Ratios in the same repetition: 1.5, 2.0, 1.0 -> median 1.5, met at <= 1.5, although
    # the figure's median (4 ms) is twice the ceiling's median (2 ms).
    met = _entry([(_latency(3), _chain(2)), (_latency(4), _chain(2)), (_latency(10), _chain(10))])
    assert (met["median"], met["ceiling_median"], met["ratio"]) == (4, 2, 1.5)
    assert met["target_ratio"] == 1.5 and met["target_ratio_met"] is True
    assert met["target"] is None and met["target_met"] is None
    missed = _entry([(_latency(4), _chain(2))])
    assert missed["ratio"] == 2 and missed["target_ratio_met"] is False
    assert "ratio <= 1.5 met" in _table(met, quick=False)
    assert "ratio <= 1.5 missed" in _table(missed, quick=False)


def test_a_higher_is_better_ratio_target_wants_at_least_the_ratio() -> None:
    def rate(value: float) -> Figure:
        return Figure("rate", value, "ops/s", ceiling="raw", target_ratio=0.5)

    raw = Figure("raw", 100, "ops/s", is_ceiling=True)
    figures = aggregate("s", {}, [Report([rate(60), raw])])["figures"]
    assert figures[0]["target_ratio_met"] is True
    figures = aggregate("s", {}, [Report([rate(40), raw])])["figures"]
    assert figures[0]["target_ratio_met"] is False


def test_a_figure_without_a_ratio_target_keeps_its_ceiling_and_judges_nothing() -> None:
    fig = _entry([(_latency(4, target_ratio=None), _chain(2))])
    assert fig["ratio"] == 2 and fig["target_ratio"] is None and fig["target_ratio_met"] is None
    assert "met" not in _table(fig, quick=False) and "missed" not in _table(fig, quick=False)


def test_a_quick_run_shows_a_ratio_target_as_not_applying() -> None:
    fig = _entry([(_latency(4), _chain(2))])
    table = _table(fig, quick=True)
    assert "ratio <= 1.5 n/a (quick)" in table and "missed" not in table


def test_a_ratio_target_needs_a_ceiling_and_survives_the_child_process_hand_off() -> None:
    with pytest.raises(ValueError, match=r"target_ratio.*ceiling"):
        Figure("p50", 1.0, "ms", better="lower", target_ratio=1.5)
    report = Report([_latency(3), _chain(2)])
    assert report_from_json(json.loads(json.dumps(report_to_json(report)))) == report


def _throughput(tmp_path: Path, inflight: int) -> tuple[str, dict[str, Any]]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "throughput",
            "--quick",
            "--repeat",
            "1",
            "--set",
            f"inflight={inflight}",
            "--set",
            "runs=20",
            "--set",
            'executors=["thread"]',
            "--set",
            'clients=["threads"]',
            "--json",
            "out.json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entry = json.loads((tmp_path / "out.json").read_text())["scenarios"]["throughput"]
    return done.stdout, {f["name"]: f for f in entry["figures"]}


@pytest.mark.timeout(240)
def test_throughput_relates_p50_latency_to_the_commit_chain_and_targets_it_alone_in_flight(
    tmp_path: Path,
) -> None:
    stdout, figures = _throughput(tmp_path, inflight=1)
    chain, p50 = figures["commit_chain_ms"], figures["latency_p50_ms"]
    assert chain["is_ceiling"] and chain["median"] > 0 and chain["better"] == "lower"
    assert p50["ceiling"] == "commit_chain_ms" and p50["ratio"] is not None
    assert p50["target_ratio"] == 1.5
    assert p50["target_ratio_met"] is None  # --quick judges no target
    assert "ratio <= 1.5 n/a (quick)" in stdout
    assert figures["lmdb_commit_rate"]["is_ceiling"]

    _, figures = _throughput(tmp_path, inflight=4)
    p50 = figures["latency_p50_ms"]
    # With company, latency is queueing: the ceiling stays for reference, no target.
    assert p50["ceiling"] == "commit_chain_ms" and p50["ratio"] is not None
    assert p50["target_ratio"] is None
