"""How to run `aion-actors` again from the user's shell, for the commands we suggest."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def command() -> str:
    """`aion-actors` when PATH finds this very script, else its path, else `python -m`.

    A virtual environment's scripts are on PATH only while it is activated,
    so a bare `aion-actors` suggested after `.venv/bin/aion-actors demo`
    would not be found.
    """
    script = Path(sys.argv[0])
    if script.name == "aion-actors" and script.is_file():
        found = shutil.which("aion-actors")
        if found is not None and Path(found).resolve() == script.resolve():
            return "aion-actors"
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m aion_actors"
