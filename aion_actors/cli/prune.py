"""`prune DIR|URL --older-than AGE [--type T] [--dry-run]`: delete closed runs offline.

For a data directory or a `postgresql://` store no engine runs on (it takes the
store's lock — the directory's, or the Postgres advisory lock — so a running
engine's store is refused naming its host and pid: the engine's own pruner does
the work there, per its `[retention]` settings). Deletes every closed run that
ended more than AGE ago (a child whose parent is still open is kept, and
its age counts from its parent's close), of one workflow type or all, each
as `EventStore.delete_run` does: whole, in small transactions. Prints what
it deleted, or with `--dry-run` what it would delete, deleting nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from aion_actors.cli._held import held_by_engine
from aion_actors.cli._when import UsageError
from aion_actors.cli.inspection import print_json
from aion_actors.core import ConfigError, DataDirLocked
from aion_actors.core.durations import parse_duration
from aion_actors.store import EventStore, LmdbStore, RunSummary
from aion_actors.store.postgres import is_url


def prune(
    target: str,
    older_than: str,
    console: Console,
    *,
    workflow_type: str | None = None,
    dry_run: bool = False,
    as_json: bool = False,
) -> int:
    try:
        age = int(parse_duration(older_than, "--older-than") * 1e9)
    except ConfigError:
        raise UsageError(
            f"--older-than {older_than!r}: give an age > 0 with its unit — 90s, 15m, 12h, 7d or 2w "
            "(a bare number has none: 7 seconds, or 7 days?)"
        ) from None
    opened, where = _open(target)

    def retention_of(name: str) -> int | None:
        return age if workflow_type is None or name == workflow_type else None

    with opened as store:
        expired = store.expired_runs(time.time_ns(), retention_of)
        done = expired
        if not dry_run:
            deleted = store.delete_runs([(r.workflow_id, r.run_id) for r in expired])
            done = [run for run, ok in zip(expired, deleted, strict=True) if ok]
    if as_json:
        print_json({"dry_run": dry_run, "runs": [_document(r) for r in done]})
        return 0
    verb = "would delete" if dry_run else "deleted"
    for run in done:
        console.print(
            f"{verb} {escape(run.workflow_id)} run {run.run_id} ({escape(run.workflow_type)}, "
            f"{run.status.value}, {run.head} events)",
            highlight=False,
            soft_wrap=True,
        )
    which = f" of type {workflow_type}" if workflow_type else ""
    console.print(
        f"{verb} {len(done)} closed run(s){which} older than {older_than} "
        f"({sum(r.head for r in done)} events) in {escape(where)}",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def _open(target: str) -> tuple[EventStore, str]:
    """The store to prune, taking its lock (never one created here), and how the summary
    names it (a URL without its password)."""
    if is_url(target):
        from aion_actors.store.postgres import PostgresStore

        store = PostgresStore(target, create=False, retry_for=5.0, pool_size=2)
        return store, store.path
    directory = Path(target)
    if not directory.is_dir():
        raise UsageError(
            f"{directory} is not a directory; give an aion-actors data directory "
            "or a postgresql:// URL"
        )
    try:
        return LmdbStore(directory, create=False), str(directory)
    except DataDirLocked as locked:
        advice = (
            "that engine's pruner deletes what its [retention] says (aion.toml); to prune "
            "by hand, stop that engine first"
        )
        raise held_by_engine(locked, advice) from None


def _document(run: RunSummary) -> dict[str, Any]:
    return {
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "workflow_type": run.workflow_type,
        "status": run.status.value,
        "ended_at": run.ended_at,
        "events": run.head,
    }
