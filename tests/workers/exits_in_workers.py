"""An activity module whose import kills a worker process outright."""

import multiprocessing
import os

if multiprocessing.current_process().name.startswith("aion-worker"):
    os._exit(7)


def task() -> str:
    return "never runs"
