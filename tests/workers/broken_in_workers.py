"""An activity module that imports in the engine process but raises inside a worker."""

import multiprocessing

if multiprocessing.current_process().name.startswith("aion-worker"):
    raise RuntimeError("this module refuses to load in a worker process")


def task() -> str:
    return "never runs"
