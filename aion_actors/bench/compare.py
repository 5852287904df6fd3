"""Compare a run with a saved baseline, figure by figure, against a noise band.

The noise band is the mean of the two runs' min-max spreads: a change of
the median smaller than that is what the machine does on its own. A change
beyond the band in the figure's worse direction is a REGRESSION.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aion_actors.bench.aggregate import FigureKey, figure_key

Status = Literal["REGRESSION", "improved", "within noise", "new", "missing"]


@dataclass(frozen=True)
class Change:
    """How one figure moved between the baseline and the current run."""

    scenario: str
    name: str
    labels: Mapping[str, Any]
    unit: str
    baseline: float | None
    current: float | None
    change_pct: float | None
    band_pct: float | None
    status: Status


def _index(doc: Mapping[str, Any]) -> dict[tuple[str, FigureKey], dict[str, Any]]:
    return {
        (scenario, figure_key(fig["name"], fig["labels"])): fig
        for scenario, entry in doc["scenarios"].items()
        for fig in entry["figures"]
    }


def _pct(delta: float, base: float) -> float | None:
    return 100.0 * delta / abs(base) if base else None


def _change(scenario: str, base: dict[str, Any], cur: dict[str, Any]) -> Change:
    delta = cur["median"] - base["median"]
    band = ((base["max"] - base["min"]) + (cur["max"] - cur["min"])) / 2
    worse = delta < 0 if cur["better"] == "higher" else delta > 0
    status: Status = "within noise"
    if abs(delta) > band:
        status = "REGRESSION" if worse else "improved"
    return Change(
        scenario,
        cur["name"],
        cur["labels"],
        cur["unit"],
        base["median"],
        cur["median"],
        _pct(delta, base["median"]),
        _pct(band, base["median"]),
        status,
    )


def compare(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[Change]:
    """Every figure of ``current`` against ``baseline``, plus figures only one of them has.

    Only scenarios present in both documents are compared, so a baseline of
    the full suite can be used for a run of one scenario.
    """
    shared = set(current["scenarios"]) & set(baseline["scenarios"])
    cur_index = {k: v for k, v in _index(current).items() if k[0] in shared}
    base_index = {k: v for k, v in _index(baseline).items() if k[0] in shared}
    changes: list[Change] = []
    for (scenario, key), cur in cur_index.items():
        base = base_index.get((scenario, key))
        if base is None:
            changes.append(
                Change(
                    scenario,
                    cur["name"],
                    cur["labels"],
                    cur["unit"],
                    None,
                    cur["median"],
                    None,
                    None,
                    "new",
                )
            )
        else:
            changes.append(_change(scenario, base, cur))
    for (scenario, key), base in base_index.items():
        if (scenario, key) not in cur_index:
            changes.append(
                Change(
                    scenario,
                    base["name"],
                    base["labels"],
                    base["unit"],
                    base["median"],
                    None,
                    None,
                    None,
                    "missing",
                )
            )
    return changes


def caveats(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """Why a change may not be a regression: other parameters, another machine."""
    notes = []
    for key in ("cores", "memory_bytes", "python", "versions"):
        before, after = baseline["machine"].get(key), current["machine"].get(key)
        if before != after:
            notes.append(f"machine {key} differs: baseline {before}, now {after}")
    for name in sorted(set(current["scenarios"]) & set(baseline["scenarios"])):
        before, after = baseline["scenarios"][name]["params"], current["scenarios"][name]["params"]
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                notes.append(
                    f"{name}: parameter {key} differs: baseline {before.get(key)!r}, "
                    f"now {after.get(key)!r}"
                )
    return notes
