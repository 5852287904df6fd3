"""What an installed user has: the package's docstring and the wheel's contents."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import aion_actors

REPO = Path(__file__).resolve().parents[2]


def test_package_docstring_points_only_to_documents_users_have() -> None:
    doc = aion_actors.__doc__ or ""
    named = set(re.findall(r"[\w-]+\.md\b", doc))
    assert named == {"README.md"}, f"the docstring names {sorted(named)}"
    long_description = importlib.metadata.metadata("aion-actors").get_payload()
    assert isinstance(long_description, str) and "## Quick start" in long_description


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built with pip from a copy of the sources (the tree itself stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("aion_actors", "supervisor", "benchmarks"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(work)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0 and "No matching distribution" in built.stderr:
        pytest.skip(f"pip cannot fetch the build backend here: {built.stderr.strip()[-300:]}")
    assert built.returncode == 0, built.stderr
    (found,) = work.glob("aion_actors-*.whl")
    return found


def test_wheel_installs_no_top_level_benchmarks_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"aion_actors", "supervisor"}
    assert "aion_actors/bench/cli.py" in names and "aion_actors/bench/scenarios/store.py" in names


@pytest.mark.timeout(300)
def test_bench_runs_from_the_installed_wheel_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import aion_actors.bench; print(aion_actors.bench.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    bench = subprocess.run(  # an isolated scenario: its repetitions run in child processes
        [site / "bin" / "aion-actors", "bench", "recovery", "--quick", "--repeat", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert bench.returncode == 0, bench.stderr
    assert "recovery_complete_s" in bench.stdout


def test_wheel_carries_the_dashboards_templates_and_static_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("templates/run.html", "templates/runs.html", "static/dashboard.js"):
        assert f"aion_actors/web/{name}" in names, name
