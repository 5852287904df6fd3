"""`pause`, `unpause` and `reset`: an operator's verbs on a data directory (or Postgres URL).

Each opens an engine on the store — so it is refused, naming the owner, while
another engine runs there: call `engine.pause/unpause/reset` in that service
instead — applies the verb, and closes the engine again. A data directory that
does not exist is refused as `runs` refuses it (a mistyped path: nothing is
created there). `pause` and `unpause` need no code: they record `RunPaused` /
`RunUnpaused`. `reset` needs the app (`--app MODULE`): the new run carries the
version of the code registered now, and it begins to run in this process;
whatever it has not finished when the command returns goes on, by replay, in
the next engine that opens the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from aion_actors.cli._held import held_by_engine
from aion_actors.cli.configcheck import app_definitions
from aion_actors.cli.inspection import print_json
from aion_actors.core import DataDirLocked
from aion_actors.engine import Engine
from aion_actors.store._lmdb_env import require_directory
from aion_actors.store.postgres import is_url

_TIMEOUT = 30.0


def operate(
    target: str | Path,
    verb: str,
    workflow_id: str,
    console: Console,
    *,
    reason: str = "",
    to_seq: int | None = None,
    app: str | None = None,
    as_json: bool = False,
) -> int:
    """Apply `verb` ("pause", "unpause" or "reset") to `workflow_id`'s latest run; 0 when done."""
    if not is_url(target):  # a mistyped directory is refused, not created
        require_directory(Path(target))
    definitions: list[Any] = []
    if verb == "reset":
        workflows, activities = app_definitions(app or "")
        definitions = [*workflows, *activities]
    try:
        opened = Engine.open(target, workers=1)
    except DataDirLocked as locked:
        advice = f"call engine.{verb}() in that service, or stop that engine first"
        raise held_by_engine(locked, advice) from None
    with opened as engine:
        if definitions:
            engine.register(*definitions)
        before = engine.describe(workflow_id).run_id
        if verb == "pause":
            engine.pause(workflow_id, reason, timeout=_TIMEOUT)
        elif verb == "unpause":
            engine.unpause(workflow_id, timeout=_TIMEOUT)
        else:
            assert to_seq is not None
            engine.reset(workflow_id, to_seq, reason, timeout=_TIMEOUT)
        after = engine.describe(workflow_id)
    document = {
        "verb": verb,
        "workflow_id": workflow_id,
        "run_id": after.run_id,
        "status": after.status.value,
        **({"reset_from": {"run_id": before, "seq": to_seq}} if verb == "reset" else {}),
    }
    if as_json:
        print_json(document)
        return 0
    what = {"pause": "paused", "unpause": "unpaused", "reset": "reset"}[verb]
    line = f"{what} {escape(workflow_id)}: run {after.run_id} is {after.status.value}"
    if verb == "reset":
        line += f" (went on from run {before} at seq {to_seq})"
    console.print(line, highlight=False, soft_wrap=True)
    return 0
