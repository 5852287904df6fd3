"""The benchmark harness: its JSON schema, aggregation, comparison and plots — never speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aion_actors.bench import harness
from aion_actors.bench.aggregate import aggregate
from aion_actors.bench.cli import main, parse_overrides
from aion_actors.bench.compare import caveats, compare
from aion_actors.bench.harness import Figure, HarnessError, Report
from aion_actors.bench.plots import write_plots
from aion_actors.bench.scenarios import SCENARIO_MODULES

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURE_KEYS = {
    "name",
    "unit",
    "better",
    "labels",
    "median",
    "min",
    "max",
    "runs",
    "ceiling",
    "ceiling_median",
    "ratio",
    "target",
    "target_met",
    "target_ratio",
    "target_ratio_met",
}


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )


def _rate(
    value: float, *, name: str = "rate", ceiling: str | None = "raw", **labels: str | int
) -> Figure:
    return Figure(name, value, "ops/s", labels=labels, ceiling=ceiling)


def _raw(value: float) -> Figure:
    return Figure("raw", value, "ops/s", is_ceiling=True)


def _doc(figures_per_repeat: list[list[Figure]]) -> dict[str, Any]:
    entry = aggregate("s", {}, [Report(figures) for figures in figures_per_repeat])
    return {"schema": 1, "scenarios": {"s": entry}}


def _only(doc: dict[str, Any], name: str = "rate") -> dict[str, Any]:
    return next(f for f in doc["scenarios"]["s"]["figures"] if f["name"] == name)


@pytest.mark.timeout(180)
def test_quick_suite_writes_every_scenario_to_json(tmp_path: Path) -> None:
    done = _bench(tmp_path, "--quick", "--repeat", "1", "--json", "out.json")
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "out.json").read_text())

    assert doc["schema"] == 1
    assert {"cores", "memory_bytes", "python", "platform", "versions"} <= set(doc["machine"])
    assert {"pykka", "msgpack", "lmdb", "aion-actors"} <= set(doc["machine"]["versions"])
    assert doc["created_at"] and doc["args"]["repeat"] == 1 and doc["args"]["quick"] is True
    assert set(doc["scenarios"]) == set(SCENARIO_MODULES)
    for name, entry in doc["scenarios"].items():
        assert "error" not in entry, entry.get("error")
        assert isinstance(entry["params"], dict) and entry["figures"], name
        ceilings = {f["name"] for f in entry["figures"] if f["is_ceiling"]}
        for fig in entry["figures"]:
            assert set(fig) >= FIGURE_KEYS, (name, fig)
            assert fig["min"] <= fig["median"] <= fig["max"], (name, fig)
            assert len(fig["runs"]) == 1, (name, fig)  # (repetitions: see the next test)
            if fig["ceiling"] is not None:
                assert fig["ceiling"] in ceilings, (name, fig)
                assert fig["ceiling_median"] > 0 and fig["ratio"] is not None, (name, fig)
        assert any(f["ratio"] is not None for f in entry["figures"]), (
            f"scenario {name} relates no figure to a ceiling"
        )


@pytest.mark.timeout(120)
def test_quick_run_judges_no_target_and_defaults_to_two_repetitions(tmp_path: Path) -> None:
    done = _bench(tmp_path, "recovery", "--quick", "--json", "out.json")
    assert done.returncode == 0, done.stderr
    assert "<= 15 n/a (quick)" in done.stdout  # toy sizes: a target neither met nor missed
    assert " met" not in done.stdout and "missed" not in done.stdout
    entry = json.loads((tmp_path / "out.json").read_text())["scenarios"]["recovery"]
    assert entry["repeat"] == 2  # a smoke run: the whole suite stays under a minute
    targeted = [f for f in entry["figures"] if f["target"] is not None]
    assert targeted and all(f["target_met"] is None for f in targeted)


def test_figures_aggregate_to_median_min_max_and_paired_ratio() -> None:
    doc = _doc([[_rate(100), _raw(200)], [_rate(300), _raw(300)], [_rate(90), _raw(1000)]])
    fig = _only(doc)
    assert (fig["median"], fig["min"], fig["max"], fig["runs"]) == (100, 90, 300, [100, 300, 90])
    assert fig["ceiling_median"] == 300
    # Median of the ratios measured in the same repetition (0.5, 1.0, 0.09), not 100/300.
    assert fig["ratio"] == pytest.approx(0.5)
    assert _only(doc, "raw")["is_ceiling"] is True


def test_labelled_figures_are_kept_apart_and_use_an_unlabelled_ceiling() -> None:
    doc = _doc([[_rate(10, writers=1), _rate(40, writers=8), _raw(80)]])
    by_writers = {
        f["labels"]["writers"]: f for f in doc["scenarios"]["s"]["figures"] if f["name"] == "rate"
    }
    assert by_writers[1]["ratio"] == pytest.approx(0.125)
    assert by_writers[8]["ratio"] == pytest.approx(0.5)


def test_target_met_follows_the_better_direction() -> None:
    fast = Figure("p50", 1.5, "ms", better="lower", target=2.0)
    slow = Figure("rate", 50, "ops/s", target=100)
    doc = _doc([[fast, slow]])
    assert _only(doc, "p50")["target_met"] is True
    assert _only(doc, "rate")["target_met"] is False


def test_a_missing_ceiling_is_an_error_naming_it() -> None:
    with pytest.raises(HarnessError, match=r"names ceiling 'raw'.*repetition 1"):
        _doc([[_rate(100)]])


def test_a_figure_reported_twice_in_one_repetition_is_an_error() -> None:
    with pytest.raises(HarnessError, match="twice"):
        _doc([[_rate(1, ceiling=None), _rate(2, ceiling=None)]])


def test_figures_reject_non_finite_values() -> None:
    with pytest.raises(ValueError, match="finite"):
        Figure("rate", float("nan"), "ops/s")


def test_compare_marks_a_regression_beyond_the_noise_band() -> None:
    baseline = _doc(
        [[_rate(100, ceiling=None)], [_rate(104, ceiling=None)], [_rate(96, ceiling=None)]]
    )
    slower = _doc([[_rate(80, ceiling=None)], [_rate(82, ceiling=None)], [_rate(78, ceiling=None)]])
    noisy = _doc([[_rate(98, ceiling=None)], [_rate(103, ceiling=None)], [_rate(95, ceiling=None)]])
    faster = _doc([[_rate(130, ceiling=None)]])

    [regressed] = compare(slower, baseline)
    assert regressed.status == "REGRESSION"
    assert regressed.change_pct == pytest.approx(-20.0)
    assert regressed.band_pct == pytest.approx(6.0)
    assert [c.status for c in compare(noisy, baseline)] == ["within noise"]
    assert [c.status for c in compare(faster, baseline)] == ["improved"]


def test_compare_regression_direction_for_lower_is_better() -> None:
    def latency(value: float) -> Figure:
        return Figure("p50", value, "ms", better="lower")

    baseline = _doc([[latency(1.0)], [latency(1.1)]])
    assert [c.status for c in compare(_doc([[latency(2.0)]]), baseline)] == ["REGRESSION"]
    assert [c.status for c in compare(_doc([[latency(0.5)]]), baseline)] == ["improved"]


def test_compare_reports_new_and_missing_figures() -> None:
    baseline = _doc([[_rate(1, ceiling=None, writers=1)]])
    current = _doc([[_rate(1, ceiling=None, writers=2)]])
    assert sorted(c.status for c in compare(current, baseline)) == ["missing", "new"]


def test_compare_notes_other_parameters_and_another_machine() -> None:
    baseline = _doc([[_rate(1, ceiling=None)]])
    current = _doc([[_rate(1, ceiling=None)]])
    baseline["machine"] = {"cores": 8, "python": "3.11.7"}
    current["machine"] = {"cores": 2, "python": "3.11.7"}
    current["scenarios"]["s"]["params"] = {"writers": 4}
    assert caveats(current, baseline) == [
        "machine cores differs: baseline 8, now 2",
        "s: parameter writers differs: baseline None, now 4",
    ]


def test_set_values_parse_as_json_when_they_can() -> None:
    parsed = parse_overrides(
        [
            "max_restarts=5",
            "jitter=0.5",
            "strategy=one_for_all",
            "config=aion.toml",
            "flag=true",
            "sizes=[1, 2]",
        ]
    )
    assert parsed == {
        "max_restarts": 5,
        "jitter": 0.5,
        "strategy": "one_for_all",
        "config": "aion.toml",
        "flag": True,
        "sizes": [1, 2],
    }
    with pytest.raises(HarnessError, match="KEY=VALUE"):
        parse_overrides(["max_restarts"])


def test_unknown_parameter_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--set", "no_such_knob=1"]) == 2
    assert "no_such_knob" in capsys.readouterr().err


def test_list_shows_every_scenario_with_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    listing = capsys.readouterr().out
    for name in SCENARIO_MODULES:
        assert name in listing
    assert "max_restarts" in listing


def test_a_scenario_module_that_fails_to_import_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "SCENARIO_MODULES", (*SCENARIO_MODULES, "broken"))
    monkeypatch.setitem(sys.modules, "aion_actors.bench.scenarios.broken", None)
    with pytest.raises(HarnessError, match=r"cannot import scenario module.*broken"):
        harness.load_scenarios(["broken"])
    with pytest.raises(HarnessError, match="unknown scenario 'nope'"):
        harness.load_scenarios(["nope"])


def test_plot_without_matplotlib_tells_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(HarnessError, match=r"pip install 'aion-actors\[plot\]'"):
        write_plots({"scenarios": {}}, tmp_path)


def test_plots_are_written_for_throughput_and_latency_series(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    series: dict[str, list[dict[str, Any]]] = {
        "throughput_vs_inflight": [
            {"inflight": n, "value": 100.0 * n, "label": "sync"} for n in (1, 10, 100)
        ],
        "latency_ms": [{"label": "ask", "value": 0.01 * i + 0.1} for i in range(50)],
    }
    doc = _doc([[_rate(1, ceiling=None)]])
    doc["scenarios"]["s"]["series"] = {
        k: [{**e, "repeat": 0} for e in v] for k, v in series.items()
    }
    written = write_plots(doc, tmp_path / "plots")
    assert sorted(p.name for p in written) == ["s_latency_ms.png", "s_throughput_vs_inflight.png"]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in written)


@pytest.mark.timeout(120)
def test_policy_plot_writes_a_timeline_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    done = _bench(tmp_path, "policy", "--quick", "--repeat", "1", "--plot", "plots")
    assert done.returncode == 0, done.stderr
    timeline = tmp_path / "plots" / "policy_timeline.png"
    assert timeline.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.timeout(120)
def test_the_soak_defaults_to_one_long_repetition_and_takes_a_duration(tmp_path: Path) -> None:
    done = _bench(tmp_path, "soak", "--duration", "4", "--set", "inflight=4", "--json", "out.json")
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "out.json").read_text())
    entry = doc["scenarios"]["soak"]
    assert doc["args"]["repeat"] is None and entry["repeat"] == 1
    assert entry["params"]["duration"] == 4
    assert len(_only({"scenarios": {"s": entry}}, "workflows_per_s")["runs"]) == 1
