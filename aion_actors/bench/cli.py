"""The command line of `aion-actors bench` (and of `python -m benchmarks` in a clone)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aion_actors.bench.aggregate import aggregate
from aion_actors.bench.compare import caveats, compare
from aion_actors.bench.harness import HarnessError, Scenario, load_scenarios
from aion_actors.bench.machine import machine_info
from aion_actors.bench.plots import require_matplotlib, write_plots
from aion_actors.bench.render import print_changes, print_list, print_results
from aion_actors.bench.runner import run_repetitions
from aion_actors.cli._console import Console, reader_gone

SCHEMA = 1
#: repetitions per scenario with --quick unless --repeat says otherwise: a smoke run.
QUICK_REPEAT = 2
_WIDE = 160


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Measure aion-actors on this machine: every figure as median/min/max "
        "over repetitions, next to the raw ceiling of its building block.",
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help="scenarios to run (default: all; see --list)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"toy sizes, {QUICK_REPEAT} repetitions, targets not judged "
        "(whole suite < 60 s on 2 cores)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help=f"repetitions per scenario (default 5, {QUICK_REPEAT} with --quick; soak 1)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the results as JSON")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="write PNG charts (needs [plot])")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="BASELINE",
        help="compare with a JSON file written earlier by --json",
    )
    parser.add_argument("--list", action="store_true", help="list scenarios and parameters")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario parameter (value parsed as JSON when it can be)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="shorthand for --set duration=SECONDS (how long the soak runs)",
    )
    return parser


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, each value parsed as JSON when possible, else kept as text."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise HarnessError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set max_restarts=5")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    return overrides


def _check_overrides(overrides: dict[str, Any], scenarios: list[Scenario]) -> None:
    known = {key for sc in scenarios for key in sc.defaults}
    unknown = sorted(set(overrides) - known)
    if unknown:
        names = ", ".join(sc.name for sc in scenarios)
        raise HarnessError(
            f"--set {', '.join(unknown)}: no such parameter in scenario(s) {names}; "
            f"known parameters: {', '.join(sorted(known))}"
        )


def _load_baseline(path: Path) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise HarnessError(f"--compare {path}: cannot read a results file ({exc})") from exc
    if doc.get("schema") != SCHEMA:
        raise HarnessError(
            f"--compare {path}: schema {doc.get('schema')!r}, this harness reads schema {SCHEMA}"
        )
    return doc


def _run(scenario: Scenario, params: dict[str, Any], repeat: int, err: Console) -> dict[str, Any]:
    where = "a fresh process each" if scenario.isolate else "in process"
    err.print(f"[bold]{scenario.name}[/]: {repeat} repetition(s), {where} ...")
    started = time.monotonic()
    try:
        entry = aggregate(scenario.name, params, run_repetitions(scenario, params, repeat))
    except HarnessError as exc:
        err.print(f"[red]error[/] in scenario {scenario.name}: {exc}")
        return {"params": params, "repeat": repeat, "figures": [], "series": {}, "error": str(exc)}
    err.print(f"  done in {time.monotonic() - started:.1f} s")
    return {**entry, "repeat": repeat}


def main(argv: list[str] | None = None, *, prog: str = "aion-actors bench") -> int:
    """Run the harness; 0 on success, 1 when a scenario failed, 2 on a usage error.

    141 when the reader of stdout went away (`... | head`), as every command does.
    """
    try:
        return _main(argv, prog)
    except BrokenPipeError:
        return reader_gone()


def _main(argv: list[str] | None, prog: str) -> int:
    args = _parser(prog).parse_args(argv)
    out = Console()
    if not out.is_terminal:
        out = Console(width=_WIDE)
    err = Console(stderr=True)
    try:
        if args.repeat is not None and args.repeat < 1:
            raise HarnessError(f"--repeat {args.repeat}: must be at least 1")
        overrides = parse_overrides(args.set)
        if args.duration is not None:
            overrides["duration"] = args.duration
        if args.plot is not None:
            require_matplotlib()
        baseline = _load_baseline(args.compare) if args.compare is not None else None
        scenarios = load_scenarios(args.scenarios or None)
        if args.list:
            print_list(scenarios, out)
            return 0
        _check_overrides(overrides, scenarios)
    except HarnessError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2

    def repeat(sc: Scenario) -> int:
        return args.repeat or (min(sc.repeat, QUICK_REPEAT) if args.quick else sc.repeat)

    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "machine": machine_info(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": {
            "scenarios": [sc.name for sc in scenarios],
            "quick": args.quick,
            "repeat": args.repeat,
            "set": overrides,
        },
        "scenarios": {
            sc.name: _run(sc, sc.params(quick=args.quick, overrides=overrides), repeat(sc), err)
            for sc in scenarios
        },
    }
    if args.quick:  # targets are set for the full sizes: toy sizes neither meet nor miss them
        for entry in doc["scenarios"].values():
            for fig in entry["figures"]:
                fig["target_met"] = fig["target_ratio_met"] = None
    print_results(doc, out)
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
        err.print(f"results written to {args.json}")
    if baseline is not None:
        print_changes(compare(doc, baseline), caveats(doc, baseline), str(args.compare), out)
    if args.plot is not None:
        for path in write_plots(doc, args.plot):
            err.print(f"chart written to {path}")
    failed = [name for name, entry in doc["scenarios"].items() if "error" in entry]
    if failed:
        err.print(f"[red]failed scenarios:[/] {', '.join(failed)}")
    return 1 if failed else 0
