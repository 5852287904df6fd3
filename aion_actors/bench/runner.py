"""Run a scenario ``repeat`` times, each in a fresh interpreter when it asks for isolation.

A fresh process per repetition keeps one repetition's threads, caches and
heap from skewing the next. The child hands its Report back as JSON in a
temporary file, so whatever the scenario prints cannot corrupt it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from aion_actors.bench.harness import (
    HarnessError,
    Params,
    Report,
    Scenario,
    report_from_json,
    report_to_json,
)

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory that holds aion_actors/
_STDERR_TAIL = 3000


def run_repetitions(scenario: Scenario, params: Params, repeat: int) -> list[Report]:
    """``repeat`` Reports of ``scenario`` run with ``params``."""
    try:
        params_json = json.dumps(params)
    except TypeError as exc:
        raise HarnessError(
            f"scenario {scenario.name!r}: parameters must be JSON values ({exc})"
        ) from exc
    run = _run_in_child if scenario.isolate else _run_in_process
    return [run(scenario, params_json, index) for index in range(repeat)]


def _run_in_process(scenario: Scenario, params_json: str, index: int) -> Report:
    report = run_to_json(scenario, json.loads(params_json))
    return report_from_json(json.loads(report))


def run_to_json(scenario: Scenario, params: Params) -> str:
    """Run ``scenario`` once and return its Report as JSON text."""
    report = scenario.run(params)
    if not isinstance(report, Report):
        raise HarnessError(
            f"scenario {scenario.name!r} returned {type(report).__name__}, not a Report"
        )
    try:
        return json.dumps(report_to_json(report))
    except (TypeError, ValueError) as exc:
        raise HarnessError(
            f"scenario {scenario.name!r}: its Report series must hold JSON values ({exc})"
        ) from exc


def _run_in_child(scenario: Scenario, params_json: str, index: int) -> Report:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="aion-bench-") as tmp:
        out = Path(tmp) / "report.json"
        command = [
            sys.executable,
            "-m",
            "aion_actors.bench._child",
            scenario.name,
            params_json,
            str(out),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.exists():
            raise HarnessError(
                f"scenario {scenario.name!r} failed in repetition {index + 1} "
                f"(child exit code {done.returncode}); its stderr ends with:\n"
                f"{done.stderr[-_STDERR_TAIL:]}"
            )
        return report_from_json(json.loads(out.read_text()))
