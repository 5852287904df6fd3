"""``python -m benchmarks``: the same as ``aion-actors bench`` (``aion_actors.bench.cli.main``)."""

import sys

from aion_actors.bench.cli import main

sys.exit(main(prog="python -m benchmarks"))
