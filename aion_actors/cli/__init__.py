"""The `aion-actors` command line (also `python -m aion_actors`): demo, inspection, benchmarks."""

from aion_actors.cli.app import main

__all__ = ["main"]
