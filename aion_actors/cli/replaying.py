"""`replay DIR --app MODULE` / `replay --from-files FILE... --app MODULE`: a CI gate.

Replays stored (or exported) histories against the app's current workflow
code, running nothing and writing nothing (the store is opened read-only),
and prints each run's verdict: `ok`, `diverged` (the first divergence: the
seq, what history recorded, what the code asked for, and the patch hint),
`failed` (the code raised while replaying) or `skipped` (the run's type is
not in the app). Exit 1 if any run diverged or failed, else 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.markup import escape

from aion_actors.cli._when import UsageError
from aion_actors.cli.configcheck import app_definitions
from aion_actors.store import LmdbStore, RunSummary
from aion_actors.testing.histories import History
from aion_actors.testing.replayer import HistoryLike, RunReplay, replay_each

Status = Literal["open", "closed", "all"]
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


def replay_command(
    source: Source, app: str, console: Console, *, converter: str | None, as_json: bool
) -> int:
    """Replay what `source` names against `app`'s workflows; 0 if every run passed, else 1."""
    workflows, _activities = app_definitions(app)
    if not workflows:
        raise UsageError(f"--app {app}: it defines no @workflow to replay histories against")
    verdicts: list[RunReplay] = []
    for verdict in replay_each(_histories(source), workflows, converter=converter):
        verdicts.append(verdict)
        if not as_json:
            _print(console, verdict)
    passed = all(v.passed for v in verdicts)
    if as_json:
        doc = {"passed": passed, "runs": [asdict(v) for v in verdicts]}
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0 if passed else 1
    counts = {k: sum(v.verdict == k for v in verdicts) for k in _STYLE}
    console.print(
        f"{len(verdicts)} run(s): " + ", ".join(f"{n} {k}" for k, n in counts.items()),
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
