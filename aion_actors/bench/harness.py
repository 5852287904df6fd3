"""The contract between the harness and its scenarios.

A scenario is a function ``run(params) -> Report`` in
``aion_actors/bench/scenarios/<name>.py`` decorated with :func:`scenario`. The
harness repeats it, aggregates every :class:`Figure` and relates each one to
the ceiling the scenario measured in the same run, so a figure means
something on any machine.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aion_actors.bench.scenarios import SCENARIO_MODULES

__all__ = [
    "Figure",
    "HarnessError",
    "Params",
    "Report",
    "Scenario",
    "get_scenario",
    "load_scenarios",
    "report_from_json",
    "report_to_json",
    "scenario",
]

Params = dict[str, Any]
LabelValue = str | int | float


class HarnessError(Exception):
    """A scenario or the command line asked for something the harness cannot do."""


@dataclass(frozen=True)
class Figure:
    """One measured number, optionally related to a ceiling and a target.

    ``target`` is judged on the median; ``target_ratio`` on the ratio to the
    ceiling (figure / ceiling measured in the same repetition), both in the
    ``better`` direction: ``better="lower"`` with ``target_ratio=1.5`` means
    "at most 1.5 times the ceiling".
    """

    name: str
    value: float
    unit: str
    better: Literal["higher", "lower"] = "higher"
    labels: Mapping[str, LabelValue] = field(default_factory=dict)
    ceiling: str | None = None
    target: float | None = None
    is_ceiling: bool = False
    target_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.better not in ("higher", "lower"):
            raise ValueError(
                f"figure {self.name!r}: better must be 'higher' or 'lower', not {self.better!r}"
            )
        if not isinstance(self.value, int | float) or not math.isfinite(self.value):
            raise ValueError(
                f"figure {self.name!r}: value must be a finite number, not {self.value!r}"
            )
        if self.is_ceiling and self.ceiling is not None:
            raise ValueError(f"figure {self.name!r}: a ceiling figure cannot name a ceiling itself")
        if self.target_ratio is not None and self.ceiling is None:
            raise ValueError(
                f"figure {self.name!r}: target_ratio is judged on the ratio to a ceiling; "
                "name the ceiling too"
            )


@dataclass
class Report:
    """What one repetition of a scenario measured: figures plus raw series for plots."""

    figures: list[Figure]
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A registered scenario: its runner and its parameters at full and toy size."""

    name: str
    help: str
    defaults: Params
    quick: Params
    isolate: bool
    run: Callable[[Params], Report]
    #: repetitions when ``--repeat`` is not given
    repeat: int = 5

    def params(self, *, quick: bool, overrides: Mapping[str, Any]) -> Params:
        """Defaults, then the ``--quick`` sizes, then the user's ``--set`` overrides."""
        merged = dict(self.defaults)
        if quick:
            merged.update(self.quick)
        merged.update({k: v for k, v in overrides.items() if k in self.defaults})
        return merged


_REGISTRY: dict[str, Scenario] = {}


def scenario(
    name: str,
    *,
    help: str,
    defaults: Params,
    quick: Params,
    isolate: bool = True,
    repeat: int = 5,
) -> Callable[[Callable[[Params], Report]], Callable[[Params], Report]]:
    """Register ``run`` as the scenario ``name``; ``quick`` overrides ``defaults`` for --quick.

    ``repeat`` is how many repetitions it gets unless ``--repeat`` says otherwise.
    """
    unknown = sorted(set(quick) - set(defaults))
    if unknown:
        raise HarnessError(f"scenario {name!r}: quick parameters {unknown} are not in its defaults")

    def register(run: Callable[[Params], Report]) -> Callable[[Params], Report]:
        if name in _REGISTRY and _REGISTRY[name].run is not run:
            raise HarnessError(f"scenario {name!r} is registered twice")
        _REGISTRY[name] = Scenario(name, help, dict(defaults), dict(quick), isolate, run, repeat)
        return run

    return register


def _import_module(module: str) -> None:
    if module not in SCENARIO_MODULES:
        known = ", ".join(SCENARIO_MODULES)
        raise HarnessError(f"unknown scenario {module!r}; known scenarios: {known}")
    try:
        importlib.import_module(f"aion_actors.bench.scenarios.{module}")
    except Exception as exc:
        raise HarnessError(
            f"cannot import scenario module aion_actors.bench.scenarios.{module}: "
            f"{type(exc).__name__}: {exc}. Fix the module or remove it from "
            "SCENARIO_MODULES in aion_actors/bench/scenarios/__init__.py."
        ) from exc
    if module not in _REGISTRY:
        raise HarnessError(
            f"aion_actors/bench/scenarios/{module}.py registers no scenario named {module!r}; "
            f"decorate its run function with @scenario({module!r}, ...)"
        )


def get_scenario(name: str) -> Scenario:
    """The scenario ``name``, importing its module on first use."""
    if name not in _REGISTRY:
        _import_module(name)
    return _REGISTRY[name]


def load_scenarios(names: list[str] | None = None) -> list[Scenario]:
    """The named scenarios (all of ``SCENARIO_MODULES`` when None), in the order given."""
    return [get_scenario(name) for name in (names or list(SCENARIO_MODULES))]


def report_to_json(report: Report) -> dict[str, Any]:
    """A JSON-ready form of ``report``, used to hand it from a child process."""
    figures = [
        {
            "name": f.name,
            "value": f.value,
            "unit": f.unit,
            "better": f.better,
            "labels": dict(f.labels),
            "ceiling": f.ceiling,
            "target": f.target,
            "is_ceiling": f.is_ceiling,
            "target_ratio": f.target_ratio,
        }
        for f in report.figures
    ]
    return {"figures": figures, "series": report.series}


def report_from_json(data: Mapping[str, Any]) -> Report:
    """The inverse of :func:`report_to_json`."""
    return Report(
        figures=[Figure(**fig) for fig in data["figures"]],
        series={k: list(v) for k, v in data["series"].items()},
    )
