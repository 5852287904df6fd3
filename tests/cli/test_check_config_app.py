"""`check-config FILE --app MODULE[:ATTR]`: table names checked against an app's definitions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

APP = """
from aion_actors import WorkflowContext, activity, workflow


@activity
def charge(card: str) -> str:
    return card


@workflow
async def checkout(ctx: WorkflowContext) -> None:
    await ctx.activity(charge, "4242")


@workflow(name="ship")
async def shipping(ctx: WorkflowContext) -> None:
    return None


ONLY_CHECKOUT = [checkout, charge]
"""

TYPOS = """
[restart.default]
max_restarts = 5

[restart.chekout]
max_restarts = 1

[activity.chrge]
timeout = 3
"""

GOOD = """
[restart.checkout]
max_restarts = 1

[restart.ship]
max_restarts = 2

[activity.charge]
timeout = 3
"""


def check(tmp_path: Path, config: str, *argv: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "shop.py").write_text(APP)
    (tmp_path / "aion.toml").write_text(config)
    return subprocess.run(
        [sys.executable, "-m", "aion_actors", "check-config", "aion.toml", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_config_app_reports_tables_naming_no_definition_with_exit_2(
    tmp_path: Path,
) -> None:
    result = check(tmp_path, TYPOS, "--app", "shop")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: aion.toml: [restart.chekout] names no registered workflow type; did you mean "
        "[checkout]? registered: checkout, ship (checked against --app shop)",
        "error: aion.toml: [activity.chrge] names no registered activity; did you mean "
        "[charge]? registered: charge (checked against --app shop)",
    ]
    assert "Traceback" not in result.stderr


def test_check_config_app_accepts_tables_naming_the_apps_definitions(tmp_path: Path) -> None:
    result = check(tmp_path, GOOD, "--app", "shop")
    assert result.returncode == 0, result.stderr
    assert "valid: aion.toml" in result.stdout and "of shop" in result.stdout
    as_json = check(tmp_path, GOOD, "--app", "shop", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["app"] == "shop"


def test_check_config_app_attribute_limits_the_definitions(tmp_path: Path) -> None:
    result = check(tmp_path, GOOD, "--app", "shop:ONLY_CHECKOUT")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: aion.toml: [restart.ship] names no registered workflow type")


def test_check_config_app_that_cannot_be_used_is_a_one_line_error(tmp_path: Path) -> None:
    for app, expected in (
        ("nowhere_to_be_found", "cannot import 'nowhere_to_be_found' (ModuleNotFoundError"),
        ("shop:MISSING", "shop has no attribute 'MISSING'"),
        ("json", "module json holds no @workflow or @activity definition"),
    ):
        result = check(tmp_path, GOOD, "--app", app)
        assert result.returncode == 2, (app, result.stderr)
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: --app {app}: ") and expected in line, line
