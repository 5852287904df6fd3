"""Terminal tables for results, comparisons and the scenario list."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aion_actors.bench.compare import Change
from aion_actors.bench.harness import Scenario


def number(value: float | None) -> str:
    """A figure rounded for reading: thousands separated, three significant digits below."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


_TIMELINE_ROWS = 40


def _labels(labels: Mapping[str, Any]) -> str:
    return escape(" ".join(f"{k}={v}" for k, v in labels.items()))


_VERDICTS = {True: "[green]met[/]", False: "[red]missed[/]", None: "[dim]n/a (no ratio)[/]"}


def _target(fig: Mapping[str, Any], *, quick: bool) -> str:
    """The figure's targets: on the median (``target``), on the ratio (``target_ratio``)."""
    sign = ">=" if fig["better"] == "higher" else "<="
    parts = []
    for prefix, key in (("", "target"), ("ratio ", "target_ratio")):
        if fig.get(key) is None:
            continue
        # the targets are set for the full sizes: toy sizes neither meet nor miss them
        verdict = "[dim]n/a (quick)[/]" if quick else _VERDICTS[fig[f"{key}_met"]]
        parts.append(f"{prefix}{sign} {number(fig[key])} {verdict}")
    return "; ".join(parts)


def _ratio(fig: Mapping[str, Any]) -> str:
    if fig["ceiling"] is None:
        return ""
    return f"{number(fig['ratio'])} of {fig['ceiling']} ({number(fig['ceiling_median'])})"


def print_results(doc: Mapping[str, Any], console: Console) -> None:
    """One table per scenario: median [min-max] per figure, ratio to ceiling, target."""
    quick = bool(doc["args"].get("quick"))
    for name, entry in doc["scenarios"].items():
        repeat = entry.get("repeat", doc["args"]["repeat"])
        if "error" in entry:
            console.print(f"[bold red]{name}: failed[/] - {escape(entry['error'])}")
            continue
        table = Table(title=f"{name} (median of {repeat}, min-max)", title_justify="left")
        for column in ("figure", "labels", "median", "min-max", "unit", "ratio to ceiling"):
            table.add_column(column, justify="right" if column == "median" else "left")
        table.add_column("target")
        for fig in entry["figures"]:
            style = "dim" if fig["is_ceiling"] else None
            table.add_row(
                fig["name"] + (" (ceiling)" if fig["is_ceiling"] else ""),
                _labels(fig["labels"]),
                number(fig["median"]),
                f"{number(fig['min'])}-{number(fig['max'])}",
                f"{fig['unit']} ({fig['better']} is better)",
                _ratio(fig),
                _target(fig, quick=quick),
                style=style,
            )
        console.print(table)
        if entry["series"].get("timeline"):
            _print_timeline(name, entry["series"]["timeline"], console)


def _print_timeline(name: str, entries: list[dict[str, Any]], console: Console) -> None:
    first = min(e["repeat"] for e in entries)
    events = [e for e in entries if e["repeat"] == first]
    table = Table(title=f"{name} timeline (repetition {first + 1})", title_justify="left")
    for column in ("t (ms)", "child", "event", "detail"):
        table.add_column(column, justify="right" if column == "t (ms)" else "left")
    for e in events[:_TIMELINE_ROWS]:
        table.add_row(
            f"{e['t'] * 1000:.1f}", escape(str(e["child"])), e["kind"], escape(str(e["detail"]))
        )
    if len(events) > _TIMELINE_ROWS:
        table.caption = f"... {len(events) - _TIMELINE_ROWS} more events: see --json or --plot"
    console.print(table)


_STATUS_STYLE = {"REGRESSION": "bold red", "improved": "green", "new": "cyan", "missing": "yellow"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def print_changes(
    changes: Iterable[Change], notes: Iterable[str], baseline: str, console: Console
) -> None:
    """The per-figure comparison with a baseline, regressions in red, then the caveats."""
    table = Table(title=f"compared with {baseline}", title_justify="left")
    for column in ("scenario", "figure", "labels", "baseline", "current", "change", "noise band"):
        table.add_column(column)
    table.add_column("verdict")
    for c in changes:
        band = "-" if c.band_pct is None else f"±{c.band_pct:.1f}%"
        style = _STATUS_STYLE.get(c.status, "")
        table.add_row(
            c.scenario,
            c.name,
            _labels(c.labels),
            number(c.baseline),
            number(c.current),
            _pct(c.change_pct),
            band,
            f"[{style}]{c.status}[/]" if style else c.status,
        )
    console.print(table)
    for note in notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def print_list(scenarios: Iterable[Scenario], console: Console) -> None:
    """Name, help and parameters (default, and the --quick value where it differs)."""
    table = Table(title="scenarios (override parameters with --set key=value)", show_lines=True)
    for column in ("scenario", "what it measures", "parameters: default [quick]"):
        table.add_column(column)
    for sc in scenarios:
        params = "\n".join(
            f"{k}={json.dumps(v)}" + (f" [{json.dumps(sc.quick[k])}]" if k in sc.quick else "")
            for k, v in sc.defaults.items()
        )
        table.add_row(sc.name, escape(sc.help), escape(params))
    console.print(table)
