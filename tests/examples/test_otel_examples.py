"""examples/otel_console.py and examples/otel_prometheus.py run and report what they say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(example: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # as if installed (pip install -e .)
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _documents(out: str, key: str) -> list[object]:
    """The `key` of each top-level JSON object printed (spans end in an exporter's
    thread, so one may print after the result)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := out.find("{", at)) != -1:
        document, end = decoder.raw_decode(out, at)
        if isinstance(document, dict) and key in document:
            found.extend(document[key])
        at = end
    return found


@pytest.mark.timeout(120)
def test_the_console_example_prints_each_span_once_and_the_metrics(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk")
    out = _run("otel_console.py", "--data", str(tmp_path / "data"))
    assert "result: ['paid 1200', 'TRACK-o-1']" in out
    names = re.findall(r'^    "name": "([^"]+)"', out, re.MULTILINE)
    assert sorted(names) == sorted(
        ["activity charge", "activity charge", "activity book_courier", "run shipping", "run order"]
    )
    reported = {
        metric["name"]
        for resource in _documents(out, "resource_metrics")
        for scope in resource["scope_metrics"]
        for metric in scope["metrics"]
    }
    assert {"aion.runs.started", "aion.activity.attempts", "aion.activity.failures"} <= reported


@pytest.mark.timeout(120)
def test_the_prometheus_example_serves_the_engine_metrics(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.exporter.prometheus")
    pytest.importorskip("prometheus_client")
    out = _run("otel_prometheus.py", "--port", "0", "--data", str(tmp_path / "data"))
    assert "results: [6, 6, 6, 6, 6]" in out
    started = re.search(r'^  aion_runs_started_total\{.*workflow_type="total"\} (\S+)$', out, re.M)
    attempts = re.search(r'^  aion_activity_attempts_total\{activity="add".*\} (\S+)$', out, re.M)
    assert started is not None and float(started.group(1)) == 5
    assert attempts is not None and float(attempts.group(1)) == 15
    assert re.search(r"^  aion_runs_resident\{", out, re.M)
