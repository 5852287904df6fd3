"""Testing workflows: `TestEngine` on a `VirtualClock`, a pytest plugin, and a replayer.

`pytest -p aion_actors.testing` (or `pytest_plugins = ["aion_actors.testing"]`
in a conftest) gives each test an `aion_engine` fixture.

`replay(histories, workflows)` replays each history (a run's events, a
`History`, or a file written by `aion-actors history DIR ID --json`) without
running anything and returns a `ReplayReport`; `report.raise_on_divergence()`
fails a test with every run that no longer replays.
"""

from __future__ import annotations

from aion_actors.testing.clock import VirtualClock
from aion_actors.testing.engine import TestEngine
from aion_actors.testing.histories import (
    History,
    HistoryFileError,
    history_document,
    read_history_file,
    write_history_file,
)
from aion_actors.testing.replayer import (
    PATCH_HINT,
    ReplayDiverged,
    ReplayReport,
    RunReplay,
    replay,
    replay_each,
    replay_run,
)

__all__ = [
    "PATCH_HINT",
    "History",
    "HistoryFileError",
    "ReplayDiverged",
    "ReplayReport",
    "RunReplay",
    "TestEngine",
    "VirtualClock",
    "history_document",
    "read_history_file",
    "replay",
    "replay_each",
    "replay_run",
    "write_history_file",
]

try:  # the fixture, for pytest's `-p aion_actors.testing`; pytest is not a dependency
    from aion_actors.testing._pytest import aion_engine
except ImportError:  # pragma: no cover - without pytest there is nothing to plug into
    pass
else:
    __all__ += ["aion_engine"]
