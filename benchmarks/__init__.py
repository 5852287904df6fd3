"""``python -m benchmarks`` from a clone of the repository: the benchmark harness.

The harness itself is ``aion_actors.bench`` (installed with the package, and
run as ``aion-actors bench``); this directory holds only this entry point and
the README, and is not installed, so no top-level ``benchmarks`` package
lands in site-packages.
"""
