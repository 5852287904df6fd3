"""Benchmark harness: size a deployment and tune restart policies on your own machine.

Run ``aion-actors bench --list`` for the scenarios (``python -m benchmarks``
from a clone of the repository is the same command); see benchmarks/README.md
in the source tree. Scenarios live in ``aion_actors.bench.scenarios``.
"""

from aion_actors.bench.harness import Figure, HarnessError, Params, Report, scenario

__all__ = ["Figure", "HarnessError", "Params", "Report", "scenario"]
