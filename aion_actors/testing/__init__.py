"""Tools for testing workflows: replay recorded histories against the current code.

`replay(histories, workflows)` replays each history (a run's events, a
`History`, or a file written by `aion-actors history DIR ID --json`) without
running anything and returns a `ReplayReport`; `report.raise_on_divergence()`
fails a test with every run that no longer replays.
"""

from aion_actors.testing.histories import (
    History,
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
    "ReplayDiverged",
    "ReplayReport",
    "RunReplay",
    "history_document",
    "read_history_file",
    "replay",
    "replay_each",
    "replay_run",
    "write_history_file",
]
