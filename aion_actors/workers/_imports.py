"""What worker processes import, and the checks that catch what they never could.

A worker resolves each activity from its `"module:qualname"` path at start.
A path that can never resolve there — a lambda, a function defined inside
another, one from the `__main__` of `python -c` or a REPL — is refused when
the activity is declared (`process_refusal`); one that fails to resolve in
this process fails that activity's attempts only (`resolve_problem`).

A worker process starts by re-importing the engine's main script (as
multiprocessing's spawn does, under the name `__mp_main__`). If that script
opens an engine at import — its entry point is not guarded by `if __name__ ==
"__main__":` — `check_not_in_worker_bootstrap` ends the worker with
`EXIT_UNGUARDED` before it touches the data directory, and the pool reports
the cause once instead of restarting workers that would do the same again.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys

from aion_actors.core import ConfigError
from aion_actors.workers.errors import ActivityUnavailable

#: every worker process is named `aion-worker-<slot>`
WORKER_NAME_PREFIX = "aion-worker-"
#: the exit code of a worker whose main script opened an engine (EX_CONFIG of sysexits.h)
EXIT_UNGUARDED = 78
GUARD_ADVICE = (
    'put the code that opens the engine (and any other work) under `if __name__ == "__main__":`'
)
MOVE_ADVICE = 'define it at module level in an importable module, or run it with executor="thread"'


def unimportable_reason(module_name: str, qualname: str) -> str | None:
    """Why `module_name:qualname` can never be imported by a worker process, or None."""
    parts = qualname.split(".")
    if "<lambda>" in parts:
        return "is a lambda"
    if "<locals>" in parts:
        return "is defined inside a function"
    if module_name == "__main__" and not main_is_importable():
        return "is defined in the __main__ of an interactive session or `python -c`"
    return None


def process_refusal(name: str, path: str, reason: str) -> str:
    """The message refusing activity `name` on the process executor."""
    return (
        f"activity {name!r} ({path}) {reason}, but worker processes import activities by "
        f"module and name: {MOVE_ADVICE}"
    )


def resolve_problem(name: str, path: str) -> ActivityUnavailable | None:
    """Why activity `name` cannot run in a worker, judged in this process; None if it can."""
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        return ActivityUnavailable(
            name, f"{path!r} is not a 'module:qualname' import path", MOVE_ADVICE
        )
    reason = unimportable_reason(module_name, qualname)
    if reason is not None:
        return ActivityUnavailable(name, f"{path} {reason}", MOVE_ADVICE)
    try:
        target: object = importlib.import_module(module_name)
        for attribute in qualname.split("."):
            target = getattr(target, attribute)
    except Exception as exc:
        return ActivityUnavailable(
            name,
            f"resolving {path!r} raised {type(exc).__name__}: {exc}",
            "keep the activity under its own name at module level (not renamed or deleted "
            'after decoration) in a module that imports cleanly, or run it with executor="thread"',
        )
    if not callable(target):
        return ActivityUnavailable(name, f"{path!r} is not callable", MOVE_ADVICE)
    return None


def main_is_importable() -> bool:
    """Whether spawned children can re-import `__main__` (a script file or `python -m`)."""
    main = sys.modules["__main__"]
    return getattr(main.__spec__, "name", None) is not None or hasattr(main, "__file__")


def main_description() -> str | None:
    """`the main script /path/app.py` (or module) that every worker re-imports; None if none.

    Mirrors multiprocessing: `python -m pkg` (a `__main__` module) is not re-imported.
    """
    main = sys.modules["__main__"]
    name = getattr(main.__spec__, "name", None)
    if name is not None:
        return None if name.split(".")[-1] == "__main__" else f"the main module {name}"
    path = getattr(main, "__file__", None)
    return f"the main script {os.path.abspath(path)}" if path else None


def check_not_in_worker_bootstrap(what: str = "Engine.open") -> None:
    """Refuse to open an engine while a process is re-importing the main script to start.

    Call it first thing where an engine is opened. In one of the pool's worker
    processes it ends the process at once with `EXIT_UNGUARDED` (no traceback,
    no lock taken), which the pool reports as a permanent start failure; in any
    other multiprocessing child it raises `ConfigError`. Elsewhere it does nothing.
    """
    process = multiprocessing.current_process()
    # multiprocessing's own flag for "still bootstrapping: importing the parent's __main__"
    if not getattr(process, "_inheriting", False):
        return
    if process.name.startswith(WORKER_NAME_PREFIX):
        os._exit(EXIT_UNGUARDED)
    raise ConfigError(
        f"{what} was called while a multiprocessing child process was re-importing the main "
        f"script to start: the script's entry point is not guarded; {GUARD_ADVICE}"
    )
