"""Every benchmark scenario, one module each, named like the scenario it registers.

This tuple is the single list the harness runs; a module that fails to import
is reported as an error, never skipped.
"""

SCENARIO_MODULES: tuple[str, ...] = (
    "supervisor",
    "policy",
    "workers",
    "floor",
    "throughput",
    "recovery",
    "scale",
    "store",
    "replay",
    "soak",
    "queues",
    "nodes",
    "copy",
)
