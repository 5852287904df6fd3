"""`aion-actors backup DIR DEST [--no-compact] [--json]`: a consistent copy of a data
directory, taken while its engine runs (see `LmdbStore.backup`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from aion_actors.cli._when import UsageError
from aion_actors.cli.inspection import print_json, store_arg
from aion_actors.store import LmdbStore


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "backup",
        parents=[common],
        help="copy a data directory consistently, while its engine runs",
        description="Copy the store in DIR to the new directory DEST inside one read "
        "transaction: every commit up to that instant, nothing half-written, while the "
        "engine that owns DIR goes on writing (a `cp` of data.mdb can catch a commit "
        "half-way). Free pages are left out unless --no-compact. The copy is read back "
        "before it is named DEST. A PostgreSQL store is backed up with PostgreSQL's tools.",
    )
    cmd.add_argument("dir", type=store_arg, metavar="DIR")
    cmd.add_argument("dest", metavar="DEST", help="a new or empty directory")
    cmd.add_argument(
        "--no-compact",
        action="store_true",
        help="copy every page, free ones too (faster; the copy is as large as DIR's file)",
    )
    cmd.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace, out: Console) -> int:
    source = args.dir
    if isinstance(source, str):
        raise UsageError(
            f"backup takes a data directory, not {source.split('@')[-1]!r}: back up a "
            "PostgreSQL store with pg_dump (or pg_basebackup for the whole server)"
        )
    if "://" in args.dest:  # (as a Path, "postgresql:/..." would be a relative directory)
        raise UsageError(
            f"backup writes a new data directory, not {args.dest.split('@')[-1]!r}: "
            "to move runs into PostgreSQL use `aion-actors copy DIR URL`"
        )
    with LmdbStore(source, readonly=True) as store:
        made = store.backup(Path(args.dest), compact=not args.no_compact)
    if args.json:
        print_json(
            {
                "source": str(source),
                "backup": str(made.path),
                "runs": made.runs,
                "bytes": made.size,
                "source_bytes": made.source_size,
                "compacted": made.compacted,
            }
        )
        return 0
    out.print(
        f"backed up {made.runs} run(s) from {escape(str(source))} ({_mib(made.source_size)}) "
        f"to {escape(str(made.path))} ({_mib(made.size)}"
        f"{', compacted' if made.compacted else ''}); open it as a data directory, or, with "
        "the engine stopped, put it in the original's place",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"
