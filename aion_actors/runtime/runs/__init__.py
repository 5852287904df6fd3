"""The run table and its parts: where every open run is, and every road into one.

`table` holds the entries; `waiters` what waits for a registration;
`residency` where a run lives and how messages reach it; `starts` new runs;
`endings` closing, parking, children, parents and what the supervisor
decides; `requests` the callers' verbs; `recovery` the engine's start;
`manager` builds them and is what the engine and the run actors talk to.
Imports point one way, in that order.
"""

from aion_actors.runtime.runs.manager import RunManager
from aion_actors.runtime.runs.starts import NewRun, new_runs
from aion_actors.runtime.runs.whereabouts import Whereabouts

__all__ = ["NewRun", "RunManager", "Whereabouts", "new_runs"]
