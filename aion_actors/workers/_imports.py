"""Checks that activity import paths resolve before any worker process tries them.

A worker resolves each activity from its `"module:qualname"` path at start.
Catching a path that can never resolve here, in the engine process, turns a
loop of dying workers into one clear `ConfigError` at construction.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping

from aion_actors.core import ConfigError


def check_activities(activities: Mapping[str, str]) -> list[str]:
    """Check each `"module:qualname"` resolves here; return the modules, for preloading."""
    modules: list[str] = []
    for name, path in activities.items():
        module_name, _, qualname = path.partition(":")
        if not module_name or not qualname:
            raise ConfigError(f"activity {name!r}: {path!r} is not a 'module:qualname' import path")
        if "<locals>" in qualname:
            raise ConfigError(
                f"activity {name!r} ({path}) is defined inside a function; worker processes "
                "can only import module-level callables: move it to module level"
            )
        if module_name == "__main__" and not main_is_importable():
            raise ConfigError(
                f"activity {name!r} is defined in the __main__ of an interactive session or "
                "`python -c`, which worker processes cannot import: move it into a module, "
                "or run it with executor='thread'"
            )
        try:
            target: object = importlib.import_module(module_name)
            for attribute in qualname.split("."):
                target = getattr(target, attribute)
        except Exception as exc:
            raise ConfigError(
                f"activity {name!r}: cannot resolve {path!r} ({type(exc).__name__}: {exc})"
            ) from exc
        if not callable(target):
            raise ConfigError(f"activity {name!r}: {path!r} is not callable")
        if module_name not in modules:
            modules.append(module_name)
    return modules


def main_is_importable() -> bool:
    """Whether spawned children can re-import `__main__` (a script file or `python -m`)."""
    main = sys.modules["__main__"]
    return getattr(main.__spec__, "name", None) is not None or hasattr(main, "__file__")
