"""PNG charts from the results document (matplotlib, the optional ``[plot]`` extra).

One chart per known series of each scenario: ``throughput_vs_inflight``,
``latency_ms`` and the policy simulator's ``timeline``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aion_actors.bench.harness import HarnessError

Entries = Sequence[Mapping[str, Any]]

_LANE_HEIGHT = 0.6
_ANNOTATE_UP_TO = 80
_COLOURS = {"crash": "tab:red", "backoff": "tab:orange", "restart": "tab:green"}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise HarnessError(
            "--plot needs matplotlib, which is not installed; "
            "install it with: pip install 'aion-actors[plot]'"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def require_matplotlib() -> None:
    """Fail before any measurement when --plot cannot be honoured."""
    _pyplot()


def _throughput(plt: Any, name: str, series: Mapping[str, Entries]) -> Any:
    entries = series["throughput_vs_inflight"]
    fig, ax = plt.subplots(figsize=(8, 5))
    by_label: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for e in entries:
        by_label[str(e.get("label", ""))][float(e["inflight"])].append(float(e["value"]))
    for label, points in by_label.items():
        xs = sorted(points)
        medians = [statistics.median(points[x]) for x in xs]
        low = [m - min(points[x]) for m, x in zip(medians, xs, strict=True)]
        high = [max(points[x]) - m for m, x in zip(medians, xs, strict=True)]
        ax.errorbar(xs, medians, yerr=[low, high], marker="o", capsize=3, label=label or None)
    inflight = [float(e["inflight"]) for e in entries]
    if min(inflight) > 0 and max(inflight) / min(inflight) >= 50:
        ax.set_xscale("log")
    ax.set_xlabel("runs in flight")
    ax.set_ylabel("throughput (median, bars: min-max)")
    ax.set_title(f"{name}: throughput vs runs in flight")
    ax.grid(True, alpha=0.3)
    if any(by_label):
        ax.legend()
    return fig


def _latency(plt: Any, name: str, series: Mapping[str, Entries]) -> Any:
    entries = series["latency_ms"]
    fig, ax = plt.subplots(figsize=(8, 5))
    by_label: dict[str, list[float]] = defaultdict(list)
    for e in entries:
        by_label[str(e.get("label", ""))].append(float(e["value"]))
    for label, values in by_label.items():
        values.sort()
        n = len(values)
        p50, p99 = values[n // 2], values[min(n - 1, int(n * 0.99))]
        ys = [(i + 1) / n for i in range(n)]
        ax.step(values, ys, where="post", label=f"{label} (p50 {p50:.3g} ms, p99 {p99:.3g} ms)")
    if all(e["value"] > 0 for e in entries):
        ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of samples <= latency")
    ax.set_title(f"{name}: latency distribution (all repetitions)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    return fig


def _exhaustion(ax: Any, e: Mapping[str, Any], top: float, lane: Mapping[str, int]) -> None:
    """A supervisor giving up spans every lane; a child given up marks its own lane.

    The y axis is inverted (first child on top), so ``top`` is the smallest y.
    """
    t = float(e["t"])
    box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8}
    label = "intensity exhausted"
    if e.get("scope") == "supervisor" or str(e["child"]) not in lane:
        ax.axvline(t, color="black", linestyle="--", linewidth=1.5, label=label)
        ax.text(
            t, top, f"supervisor gave up\nat {t:.3f} s ", ha="right", va="top", fontsize=9, bbox=box
        )
        return
    y = lane[str(e["child"])]
    ax.plot([t, t], [y - 0.45, y + 0.45], "--", color="black", linewidth=1.5, label=label)
    ax.text(t, y + 0.3, f"given up at {t:.3f} s ", ha="right", va="center", fontsize=8, bbox=box)


def _timeline(plt: Any, name: str, series: Mapping[str, Entries]) -> Any:
    entries = series["timeline"]
    first = min(e["repeat"] for e in entries)
    events = [e for e in entries if e["repeat"] == first]
    described = [d for d in series.get("policy", []) if d["repeat"] == first]
    title = str(described[0]["summary"]) if described else f"{name}: restart timeline"
    children = sorted({str(e["child"]) for e in events if e["kind"] != "exhausted"})
    lane = {child: i for i, child in enumerate(children)}
    span = max(float(e["t"]) + float(e.get("duration", 0.0)) for e in events) or 1.0
    annotate = len(events) <= _ANNOTATE_UP_TO
    crashes: dict[str, int] = defaultdict(int)
    fig, ax = plt.subplots(figsize=(11, 1.8 + 0.9 * max(1, len(children))))
    for e in events:
        t, kind, child = float(e["t"]), e["kind"], str(e["child"])
        if kind == "exhausted":
            _exhaustion(ax, e, -0.65, lane)
            continue
        y = lane[child]
        if kind == "backoff":
            wait = float(e["duration"])
            ax.broken_barh(
                [(t, wait)],
                (y - _LANE_HEIGHT / 2, _LANE_HEIGHT),
                facecolors=_COLOURS["backoff"],
                alpha=0.35,
                label="backoff wait",
            )
            if annotate and wait >= span * 0.05:
                ax.text(
                    t + wait / 2, y, f"{wait * 1000:.0f} ms", ha="center", va="center", fontsize=8
                )
        elif kind == "crash":
            crashes[child] += 1
            ax.plot(t, y, "x", color=_COLOURS["crash"], markersize=10, mew=2, label="crash")
            if annotate:
                ax.text(
                    t,
                    y - 0.2,
                    f"#{crashes[child]}",
                    ha="center",
                    fontsize=8,
                    color=_COLOURS["crash"],
                )
        elif kind == "restart":
            ax.plot(t, y, "^", color=_COLOURS["restart"], markersize=9, label="restart")
    for start, end in described[0].get("outages", []) if described else []:
        ax.axvspan(start, end, color="grey", alpha=0.15, label="dependency down")
    ax.set_yticks(range(len(children)), children)
    ax.set_ylim(len(children) - 0.3, -0.7)
    ax.set_xlim(0, span * 1.02)
    ax.set_xlabel("time since supervisor start (s)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


_CHARTS: dict[str, Callable[[Any, str, Mapping[str, Entries]], Any]] = {
    "throughput_vs_inflight": _throughput,
    "latency_ms": _latency,
    "timeline": _timeline,
}


def write_plots(doc: Mapping[str, Any], directory: Path) -> list[Path]:
    """Write one PNG per known series of each scenario into ``directory``; return the paths."""
    plt = _pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, entry in doc["scenarios"].items():
        series = entry["series"]
        for key, draw in _CHARTS.items():
            if not series.get(key):
                continue
            figure = draw(plt, name, series)
            path = directory / f"{name}_{key}.png"
            figure.tight_layout()
            figure.savefig(path, dpi=120)
            plt.close(figure)
            written.append(path)
    return written
