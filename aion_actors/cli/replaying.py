"""`replay DIR --app MODULE` / `replay --from-files FILE... --app MODULE`: a CI gate.

Replays stored (or exported) histories against the app's current workflow
code, running nothing and writing nothing (the store is opened read-only),
and prints each run's verdict: `ok`, `diverged` (the first divergence: the
seq, what history recorded, what the code asked for, and what to do),
`failed` (the code cannot replay the run: it raises or fails it, cannot
start it with its input, or a payload no longer decodes; an open run whose
type is not in the app, unless `--allow-unknown-types`; a history file that
cannot be read, alone) or `skipped` (a closed run whose type is not in the
app). Exit 1 if any run diverged or failed, else 0; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape

from aion_actors.cli._when import UsageError
from aion_actors.cli.configcheck import app_definitions
from aion_actors.store import LmdbStore, RunSummary
from aion_actors.testing.histories import History
from aion_actors.testing.replayer import HistoryLike, RunReplay, replay_each, unknown_types_hint

Status = Literal["open", "closed", "all"]
ALLOW_UNKNOWN = "--allow-unknown-types"
_STYLE = {"ok": "green", "diverged": "bold red", "failed": "bold red", "skipped": "yellow"}


@dataclass(frozen=True)
class Source:
    """Where the histories come from: a data directory (filtered) or exported files."""

    data: str | None = None
    files: Sequence[Path] = ()
    workflow_type: str | None = None
    status: Status = "all"
    limit: int = 0

    def __post_init__(self) -> None:
        if (self.data is None) == (not self.files):
            raise UsageError(
                "replay: name a data directory (replay DIR --app MODULE) or exported "
                "history files (replay --from-files FILE... --app MODULE), not both nor neither"
            )
        if self.data is not None and "://" in self.data:
            raise UsageError(
                f"replay {self.data}: only a data directory can be replayed for now; stores "
                "at a URL come with the PostgreSQL store. Pass the directory's path"
            )
        if self.data is not None and Path(self.data).is_file():
            exported = Path(self.data).suffix == ".json"
            raise UsageError(
                f"replay {self.data}: is a file, not a data directory; give the data "
                "directory an engine wrote"
                + (
                    f" (an exported history is replayed with --from-files {self.data})"
                    if exported
                    else ""
                )
            )
        if self.limit < 0:
            raise UsageError(f"--limit {self.limit}: expected a count >= 0 (0: every run)")
        if self.files and (self.workflow_type or self.status != "all" or self.limit):
            raise UsageError(
                "--type, --status and --limit select runs of a data directory; "
                "with --from-files every file given is replayed"
            )
        for path in self.files:
            if not path.exists():
                raise UsageError(f"--from-files {path}: no such file")
            if path.is_dir():
                raise UsageError(
                    f"--from-files {path}: is a directory; give the history files in it "
                    f"({path}/*.json), or the directory without --from-files if it is a "
                    "data directory"
                )


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """The `replay` subcommand's arguments."""
    cmd = commands.add_parser(
        "replay",
        parents=[common],
        help="replay stored histories against the current workflow code (a CI gate)",
        description="Replay each selected run's history against the workflows of --app, "
        "running nothing and writing nothing (the store is opened read-only): the code must "
        "ask again for every command history recorded. Prints per run ok, diverged (seq, what "
        "history recorded, what the code asked for), failed (the code cannot replay the run: "
        "it raised, failed it, or cannot start it with its input; or an open run's type is "
        "not in the app; or a history file is malformed) or skipped (a closed run whose type "
        "is not in the app). Exit 0 if every run passed, 1 if any diverged or failed.",
    )
    cmd.add_argument(
        "dir", nargs="?", metavar="DIR", help="a data directory (stores at a URL: later)"
    )
    cmd.add_argument(
        "--from-files",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="replay files written by `history DIR WORKFLOW_ID --json` instead of a directory",
    )
    cmd.add_argument(
        "--app",
        required=True,
        metavar="MODULE[:ATTR]",
        help="the module whose @workflow definitions replay the histories",
    )
    cmd.add_argument("--type", dest="workflow_type", metavar="TYPE", help="only this workflow type")
    cmd.add_argument(
        "--status", choices=["open", "closed", "all"], default="all", help="default: all"
    )
    cmd.add_argument(
        "--limit", type=int, default=0, metavar="N", help="the newest N runs (default 0: all)"
    )
    cmd.add_argument(
        "--converter",
        metavar="MODULE:NAME",
        help="the payload converter the engine runs the app with, if not the default",
    )
    cmd.add_argument(
        ALLOW_UNKNOWN,
        action="store_true",
        help="pass open runs whose workflow type is not in the app (skipped: they would wait, "
        "parked, for a workflow of that type); by default they fail the gate",
    )
    cmd.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace, console: Console) -> int:
    """`replay` as parsed by `add_parser`."""
    source = Source(args.dir, args.from_files, args.workflow_type, args.status, args.limit)
    return replay_command(
        source,
        args.app,
        console,
        converter=args.converter,
        as_json=args.json,
        allow_unknown_types=args.allow_unknown_types,
    )


def replay_command(
    source: Source,
    app: str,
    console: Console,
    *,
    converter: str | None,
    as_json: bool,
    allow_unknown_types: bool = False,
) -> int:
    """Replay what `source` names against `app`'s workflows; 0 if every run passed, else 1."""
    workflows, _activities = app_definitions(app)
    if not workflows:
        raise UsageError(f"--app {app}: it defines no @workflow to replay histories against")
    verdicts: list[RunReplay] = []
    histories = _histories(source)
    for verdict in replay_each(
        histories, workflows, converter=converter, allow_unknown_types=allow_unknown_types
    ):
        verdicts.append(verdict)
        if not as_json:
            _print(console, verdict)
    passed = all(v.passed for v in verdicts)
    stranded = Counter(v.workflow_type for v in verdicts if v.unknown_type and not v.passed)
    if as_json:
        doc = {
            "passed": passed,
            "unknown_types": dict(sorted(stranded.items())),
            "runs": [asdict(v) for v in verdicts],
        }
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0 if passed else 1
    counts = {k: sum(v.verdict == k for v in verdicts) for k in _STYLE}
    console.print(
        f"{len(verdicts)} run(s): " + ", ".join(f"{n} {k}" for k, n in counts.items()),
        highlight=False,
    )
    if stranded:
        types = ", ".join(
            f"{t} ({n} run{'' if n == 1 else 's'})" for t, n in sorted(stranded.items())
        )
        console.print(
            escape(
                f"open runs of workflow types not in the app: {types}; "
                + unknown_types_hint(sorted(stranded), ALLOW_UNKNOWN)
            ),
            soft_wrap=True,
            highlight=False,
        )
    return 0 if passed else 1


def _histories(source: Source) -> Iterator[HistoryLike]:
    if source.data is None:
        yield from source.files
        return
    with LmdbStore(Path(source.data), readonly=True) as store:
        for run in _selected(store.runs(workflow_type=source.workflow_type), source):
            events = store.read(run.workflow_id, run.run_id)
            yield History(
                run.workflow_id,
                run.run_id,
                run.workflow_type,
                tuple(events),
                status=run.status.value,
                source=source.data,
            )


def _selected(runs: list[RunSummary], source: Source) -> list[RunSummary]:
    """The runs `source` picks, newest first."""
    wanted = [
        r
        for r in runs
        if source.status == "all" or (source.status == "closed") == r.status.is_terminal
    ]
    wanted.sort(key=lambda r: (r.started_at, r.workflow_id, r.run_id), reverse=True)
    return wanted[: source.limit] if source.limit else wanted


def _print(console: Console, verdict: RunReplay) -> None:
    style = _STYLE[verdict.verdict]
    line = f"[{style}]{verdict.verdict:<8}[/] {escape(verdict.label)}"
    if not verdict.run_id:  # a history file that cannot be read
        line += escape(f": {verdict.detail}")
    elif verdict.verdict == "diverged":
        line += escape(
            f": at seq {verdict.seq} history recorded {verdict.recorded}, "
            f"the code asked for {verdict.requested}"
        )
        line += f"\n         hint: {escape(verdict.hint)}"
    elif verdict.detail:
        line += escape(f" ({verdict.detail})")
    console.print(line, soft_wrap=True, highlight=False)
