"""Benchmark harness: size a deployment and tune restart policies on your own machine.

Run ``python -m benchmarks --list`` for the scenarios; see benchmarks/README.md.
"""

from benchmarks.harness import Figure, HarnessError, Params, Report, scenario

__all__ = ["Figure", "HarnessError", "Params", "Report", "scenario"]
