"""`import supervisor` warns once when supervisord's distribution of the same name is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def import_supervisor(*extra_paths: Path) -> str:
    path = os.pathsep.join(str(p) for p in (ROOT, *extra_paths))
    result = subprocess.run(
        [sys.executable, "-c", "import supervisor, supervisor.policy"],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stderr


def test_warns_when_supervisord_is_installed(tmp_path: Path) -> None:
    # What `pip install supervisor` leaves behind, as far as importlib.metadata can tell.
    dist_info = tmp_path / "supervisor-4.2.5.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: supervisor\nVersion: 4.2.5\n")
    err = import_supervisor(tmp_path)
    assert err.count("supervisord's 'supervisor' distribution (version 4.2.5)") == 1
    assert "separate virtualenvs" in err


def test_silent_without_supervisord() -> None:
    assert "supervisord" not in import_supervisor()
