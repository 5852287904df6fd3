"""The `aion-actors` command line: parsing, dispatch, and errors as one clear line.

Exit codes: 0 success, 1 a runtime failure (a run or a workflow not found,
the demo's verdict failed, an engine process died, `doctor` found damage), 2 a usage or
configuration error, 130 interrupted, 141 the reader of stdout went away
(`aion-actors runs DIR | head`): the command stops quietly with the status
a shell reports for `ls` or `git log` stopped by SIGPIPE (128 + 13).
`--verbose` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from aion_actors.cli import backup, copying, demo, inspection, nodes, replaying, ui
from aion_actors.cli._console import EXIT_PIPE, Console, reader_gone
from aion_actors.cli._listing import DEFAULT_LIMIT, Selection, attribute_filters
from aion_actors.cli._when import UsageError, parse_when
from aion_actors.cli.configcheck import check_config
from aion_actors.cli.doctor import doctor
from aion_actors.cli.operating import operate
from aion_actors.cli.prune import prune
from aion_actors.cli.schedules import schedules
from aion_actors.core import AionError, ConfigError, WorkflowStatus

__all__ = ["EXIT_PIPE", "UsageError", "main"]

_WIDE = 200


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an error",
    )
    parser = argparse.ArgumentParser(
        prog="aion-actors",
        description="Embedded durable workflows on the actor model: demo, inspection, benchmarks.",
        parents=[common],
    )
    parser.set_defaults(verbose=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cmd = commands.add_parser(
        "demo",
        parents=[common],
        help="process orders through injected faults and an engine kill",
        description="Process orders (reserve stock, charge card, approval signal, durable timer, "
        "shipping as a child workflow) while activities fail, worker processes die, workflows "
        "crash and the engine is SIGKILLed half-way; then check every order completed and no "
        "card was charged twice.",
    )
    cmd.add_argument("--runs", type=int, default=500, metavar="N", help="orders (default 500)")
    cmd.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="data directory: a new or empty one, or a demo's with the same --runs, to finish "
        "it (default: a new aion-demo-<time>-* in the temporary directory, printed first)",
    )
    cmd.add_argument(
        "--workers", type=int, default=2, metavar="N", help="activity worker processes (default 2)"
    )
    cmd.add_argument(
        "--no-faults",
        action="store_true",
        help="inject no faults and do not kill the engine: a clean baseline",
    )

    cmd = commands.add_parser("runs", parents=[common], help="list the runs in a data directory")
    cmd.add_argument("dir", type=inspection.store_arg, metavar="DIR|URL")
    cmd.add_argument("--status", choices=[s.value for s in WorkflowStatus])
    cmd.add_argument("--type", dest="workflow_type", metavar="TYPE", help="only this workflow type")
    cmd.add_argument(
        "--since",
        metavar="WHEN",
        help="only runs started at or after WHEN: 2025-01-31, 2025-01-31T14:30 (local time "
        "unless it ends with Z or +02:00) or an age: 45s, 30m, 12h, 7d, 2w; from 1970 to 2262",
    )
    cmd.add_argument("--until", metavar="WHEN", help="only runs started before WHEN (as --since)")
    cmd.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"list the newest N runs (default {DEFAULT_LIMIT}; 0: all) and count the others",
    )
    cmd.add_argument(
        "--attr",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="only runs whose search attribute NAME is VALUE (a JSON number, true/false or "
        "a quoted string; anything else is text); repeat to require several",
    )
    cmd.add_argument("--cursor", help="the page after this cursor (printed under a page)")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")

    cmd = commands.add_parser("history", parents=[common], help="the events of a workflow's run")
    cmd.add_argument("dir", type=inspection.store_arg, metavar="DIR|URL")
    cmd.add_argument("workflow_id", metavar="WORKFLOW_ID")
    cmd.add_argument("--run", dest="run_id", metavar="RUN_ID", help="this run (default: latest)")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")

    replaying.add_parser(commands, common)

    cmd = commands.add_parser(
        "doctor",
        parents=[common],
        help="check a data directory for damage; rebuild its run index",
        description="Check a data directory: the data file against its meta pages, every page, "
        "the schema, every run index entry, every run's events, the index and the timers "
        "against the events. Read-only unless a repair is asked for. Exit 0 healthy, 1 damage "
        "found.",
    )
    cmd.add_argument("dir", type=Path, metavar="DIR")
    repair = cmd.add_mutually_exclusive_group()
    repair.add_argument(
        "--rebuild-index",
        action="store_true",
        help="first rebuild the run index and the timers from the events, in one transaction "
        "(refused while an engine owns the directory)",
    )
    repair.add_argument(
        "--create-empty",
        action="store_true",
        help="first start an empty store where a lost data.mdb (missing or empty) was; the "
        "runs it held are gone for good",
    )
    cmd.add_argument("--json", action="store_true", help="print one JSON document")

    cmd = commands.add_parser(
        "prune",
        parents=[common],
        help="delete closed runs older than an age (offline: no engine may run on the store)",
        description="Delete every closed run that ended more than --older-than ago (a child "
        "whose parent is open is kept): its history, run index entry and timers. Prints each "
        "run deleted. Refused while an engine owns the store (its pruner applies the "
        "[retention] settings instead).",
    )
    cmd.add_argument(
        "dir", metavar="DIR", help="a data directory or a postgresql:// URL (?schema=NAME)"
    )
    cmd.add_argument(
        "--older-than", required=True, metavar="AGE", help="an age: 90s, 15m, 12h, 7d, 2w"
    )
    cmd.add_argument("--type", dest="workflow_type", metavar="TYPE", help="only this workflow type")
    cmd.add_argument("--dry-run", action="store_true", help="print what would go; delete nothing")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")

    for verb, text in (("pause", "hold a run's code (offline)"), ("unpause", "let it run on")):
        cmd = commands.add_parser(verb, parents=[common], help=text)
        cmd.add_argument("dir", metavar="DIR|URL")
        cmd.add_argument("workflow_id", metavar="WORKFLOW_ID")
        if verb == "pause":
            cmd.add_argument("--reason", default="", help="recorded with the pause")
        cmd.add_argument("--json", action="store_true", help="print one JSON document")
    cmd = commands.add_parser(
        "reset",
        parents=[common],
        help="go on in a new run from a prefix of a run's history (offline)",
        description="Close the workflow's latest run as reset and start a new run from its "
        "history up to --to-seq, with the code of --app (see the README, Operating runs).",
    )
    cmd.add_argument("dir", metavar="DIR|URL")
    cmd.add_argument("workflow_id", metavar="WORKFLOW_ID")
    cmd.add_argument("--to-seq", type=int, required=True, metavar="N", help="a reset point")
    cmd.add_argument("--app", required=True, metavar="MODULE[:ATTR]", help="the code to run on")
    cmd.add_argument("--reason", default="", help="recorded with the reset")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")

    cmd = commands.add_parser("schedules", parents=[common], help="list the schedules")
    cmd.add_argument("dir", type=inspection.store_arg, metavar="DIR|URL")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")

    cmd = commands.add_parser("describe", parents=[common], help="a workflow's latest run")
    cmd.add_argument("dir", type=inspection.store_arg, metavar="DIR|URL")
    cmd.add_argument("workflow_id", metavar="WORKFLOW_ID")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")

    ui.add_command(commands, common)
    nodes.add_command(commands, common)
    backup.add_command(commands, common)
    copying.add_command(commands, common)
    commands.add_parser(
        "bench",
        add_help=False,
        help="the benchmark harness (`aion-actors bench --help` for its options)",
    )

    cmd = commands.add_parser(
        "check-config",
        parents=[common],
        help="validate an aion.toml and print the effective settings",
    )
    cmd.add_argument("file", type=Path, metavar="FILE")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")
    cmd.add_argument(
        "--app",
        metavar="MODULE[:ATTR]",
        help="also check that every [restart.<type>] and [activity.<name>] table names a "
        "workflow or activity this module defines (at module level, or in ATTR)",
    )
    return parser


def _run(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.command == "demo":
        if args.runs < 1 or args.workers < 1:
            raise UsageError(
                f"--runs {args.runs} --workers {args.workers}: both must be at least 1"
            )
        options = demo.Options(args.runs, args.data, args.workers, faults=not args.no_faults)
        return demo.run(options, out)
    if args.command == "runs":
        return inspection.runs(args.dir, out, _selection(args), as_json=args.json)
    if args.command == "history":
        return inspection.history(
            args.dir, args.workflow_id, out, run_id=args.run_id, as_json=args.json
        )
    if args.command == "replay":
        return replaying.run(args, out)
    if args.command in ("pause", "unpause", "reset"):
        return operate(
            args.dir,
            args.command,
            args.workflow_id,
            out,
            reason=getattr(args, "reason", ""),
            to_seq=getattr(args, "to_seq", None),
            app=getattr(args, "app", None),
            as_json=args.json,
        )
    if args.command == "copy":
        return copying.run(args, out, err)
    if args.command in ("ui", "nodes", "backup"):
        return {"ui": ui.run, "nodes": nodes.run, "backup": backup.run}[args.command](args, out)
    if args.command == "schedules":
        return schedules(args.dir, out, as_json=args.json)
    if args.command == "describe":
        return inspection.describe(args.dir, args.workflow_id, out, as_json=args.json)
    if args.command == "doctor":
        return doctor(
            args.dir,
            out,
            rebuild=args.rebuild_index,
            create_empty=args.create_empty,
            as_json=args.json,
        )
    if args.command == "prune":
        return prune(
            args.dir,
            args.older_than,
            out,
            workflow_type=args.workflow_type,
            dry_run=args.dry_run,
            as_json=args.json,
        )
    assert args.command == "check-config"
    return check_config(args.file, out, as_json=args.json, app=args.app, err=err)


def _selection(args: argparse.Namespace) -> Selection:
    if args.limit < 0:
        raise UsageError(f"--limit {args.limit}: expected a count >= 0 (0 lists every run)")
    now = time.time_ns()
    since = parse_when(args.since, "--since", now) if args.since is not None else None
    until = parse_when(args.until, "--until", now) if args.until is not None else None
    if since is not None and until is not None and since >= until:
        raise UsageError(
            f"--since {args.since} --until {args.until}: the start is not before the end, "
            "so no run can match"
        )
    try:
        selection = Selection(
            status=WorkflowStatus(args.status) if args.status else None,
            workflow_type=args.workflow_type,
            since=since,
            until=until,
            limit=args.limit,
            attributes=attribute_filters(args.attr),
            cursor=args.cursor,
        )
        selection.query()  # a bad --attr or --cursor is a usage error, before any reading
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return selection


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return reader_gone()


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command != "bench" and extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "bench":
        from aion_actors.bench.cli import main as bench  # it imports this package's console

        return bench(extra)
    out = Console()
    if not out.is_terminal:
        out = Console(width=_WIDE)
    err = Console(stderr=True, width=None if out.is_terminal else _WIDE)
    fail = _reporter(err, verbose=args.verbose)
    try:
        return _run(args, out, err)
    except BrokenPipeError:
        return reader_gone()
    except (ConfigError, UsageError) as exc:
        return fail(exc, str(exc), 2)
    except AionError as exc:
        return fail(exc, str(exc), 1)
    except OSError as exc:
        return fail(exc, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), 1)
    except KeyboardInterrupt as exc:
        return fail(exc, "interrupted", 130)
    except Exception as exc:
        return fail(
            exc,
            f"unexpected {type(exc).__name__}: {exc} — run with --verbose for the traceback "
            "and report it",
            1,
        )


def _reporter(err: Console, *, verbose: bool) -> Callable[[BaseException, str, int], int]:
    def fail(exc: BaseException, message: str, code: int) -> int:
        if verbose:
            sys.stderr.write("".join(traceback.format_exception(exc)))
        err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
        return code

    return fail
