"""An activity module that imports in the engine process but raises inside a worker."""

import multiprocessing

from aion_actors import activity
from tests.workers.flows import QUICK_RETRIES

if multiprocessing.current_process().name.startswith("aion-worker"):
    raise RuntimeError("this module refuses to load in a worker process")


@activity(retry=QUICK_RETRIES)
def refused() -> str:
    return "never runs"
