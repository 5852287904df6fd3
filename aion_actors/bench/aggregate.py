"""Fold the Reports of several repetitions into median/min/max per figure.

Figures are keyed by name and labels. A figure that names a ceiling is
divided by that ceiling *as measured in the same repetition*, and the ratio
reported is the median of those paired ratios: the machine's noise hits the
figure and its ceiling alike, so the ratio is steadier than either.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from aion_actors.bench.harness import Figure, HarnessError, Params, Report

FigureKey = tuple[str, str]


def figure_key(name: str, labels: Mapping[str, Any]) -> FigureKey:
    """The identity of a figure across repetitions and runs: its name and labels."""
    return name, json.dumps(dict(labels), sort_keys=True)


def _describe(key: FigureKey) -> str:
    name, labels = key
    return name if labels == "{}" else f"{name} {labels}"


def _kind(fig: Figure) -> tuple[str, str, str | None, bool]:
    return fig.unit, fig.better, fig.ceiling, fig.is_ceiling


def _collect(name: str, reports: Sequence[Report]) -> dict[FigureKey, list[Figure | None]]:
    groups: dict[FigureKey, list[Figure | None]] = {}
    for index, report in enumerate(reports):
        for fig in report.figures:
            key = figure_key(fig.name, fig.labels)
            runs = groups.setdefault(key, [None] * len(reports))
            if runs[index] is not None:
                raise HarnessError(
                    f"scenario {name!r} reported figure {_describe(key)} twice in "
                    f"repetition {index + 1}; give each a distinct name or labels"
                )
            first = next((f for f in runs if f is not None), None)
            if first is not None and _kind(first) != _kind(fig):
                raise HarnessError(
                    f"scenario {name!r}: figure {_describe(key)} changed its unit, "
                    f"direction or ceiling between repetitions"
                )
            runs[index] = fig
    return groups


def _ceiling_value(name: str, ceiling: str, fig: Figure, report: Report, index: int) -> float:
    wanted = (figure_key(ceiling, fig.labels), figure_key(ceiling, {}))
    found = {figure_key(c.name, c.labels): c.value for c in report.figures if c.is_ceiling}
    for key in wanted:
        if key in found:
            return found[key]
    raise HarnessError(
        f"scenario {name!r}: figure {_describe(figure_key(fig.name, fig.labels))} names "
        f"ceiling {ceiling!r}, but repetition {index + 1} reported no ceiling figure "
        f"{ceiling!r} with the same or empty labels (is_ceiling=True)"
    )


def _stats(name: str, runs: list[Figure | None], reports: Sequence[Report]) -> dict[str, Any]:
    present = [(i, f) for i, f in enumerate(runs) if f is not None]
    first = present[0][1]
    values = [f.value for _, f in present]
    median = statistics.median(values)
    ceiling_median = ratio = None
    if first.ceiling is not None:
        ceilings = [_ceiling_value(name, first.ceiling, f, reports[i], i) for i, f in present]
        ceiling_median = statistics.median(ceilings)
        ratios = [f.value / c for (_, f), c in zip(present, ceilings, strict=True) if c > 0]
        ratio = statistics.median(ratios) if ratios else None
    target_met = _meets(first, median, first.target)
    target_ratio_met = _meets(first, ratio, first.target_ratio)
    return {
        "name": first.name,
        "unit": first.unit,
        "better": first.better,
        "labels": dict(first.labels),
        "median": median,
        "min": min(values),
        "max": max(values),
        "runs": values,
        "ceiling": first.ceiling,
        "ceiling_median": ceiling_median,
        "ratio": ratio,
        "target": first.target,
        "target_met": target_met,
        "target_ratio": first.target_ratio,
        "target_ratio_met": target_ratio_met,
        "is_ceiling": first.is_ceiling,
    }


def _meets(fig: Figure, value: float | None, target: float | None) -> bool | None:
    """Whether ``value`` reaches ``target`` in the figure's better direction; None when
    there is no target or nothing to judge (a ratio to a ceiling measured as zero)."""
    if target is None or value is None:
        return None
    return value >= target if fig.better == "higher" else value <= target


def aggregate(name: str, params: Params, reports: Sequence[Report]) -> dict[str, Any]:
    """The JSON entry of scenario ``name``: params, aggregated figures and all series.

    Series entries from every repetition are kept, each tagged with its
    ``repeat`` index, so plots can pool or pick them.
    """
    if not reports:
        raise HarnessError(f"scenario {name!r}: nothing to aggregate (repeat must be >= 1)")
    groups = _collect(name, reports)
    figures = [_stats(name, runs, reports) for runs in groups.values()]
    series: dict[str, list[dict[str, Any]]] = {}
    for index, report in enumerate(reports):
        for series_name, entries in report.series.items():
            series.setdefault(series_name, []).extend({**e, "repeat": index} for e in entries)
    return {"params": params, "figures": figures, "series": series}
