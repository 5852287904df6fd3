"""Owner-only files, and no unpickling anywhere in the packages."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

from aion_actors import Engine
from tests.reliability import flows
from tests.reliability.crashing import ROOT

#: modules that turn bytes into arbitrary objects (or code).
_UNSAFE_MODULES = {
    "pickle",
    "_pickle",
    "cPickle",
    "cloudpickle",
    "dill",
    "shelve",
    "marshal",
    "jsonpickle",
}
#: multiprocessing calls that unpickle what comes out of a pipe or queue.
_UNSAFE_CALLS = {"recv", "Queue", "JoinableQueue", "Manager", "Listener", "Client"}


def test_the_data_directory_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old = os.umask(0)
    try:
        with Engine.open(data_dir, workers=1) as engine:
            engine.register(*flows.ALL)
            engine.start(flows.waits, workflow_id="w")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()}
    finally:
        os.umask(old)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert {"data.mdb", "lock.mdb", "aion.lock"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


def _unsafe_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module.split(".")[0]]
            if node.module.startswith("multiprocessing"):
                names += [a.name for a in node.names if a.name in _UNSAFE_CALLS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr in _UNSAFE_CALLS and not (
                isinstance(owner, ast.Name) and owner.id == "queue"
            ):
                names = [node.func.attr]
        elif isinstance(node, ast.Constant) and node.value in _UNSAFE_MODULES:
            names = [node.value]  # importlib.import_module("pickle") and the like
        found += [
            f"{path}:{getattr(node, 'lineno', '?')}: {name}"
            for name in names
            if name in _UNSAFE_MODULES or name in _UNSAFE_CALLS
        ]
    return found


def test_nothing_in_the_packages_unpickles() -> None:
    sources = [p for pkg in ("aion_actors", "supervisor") for p in (ROOT / pkg).rglob("*.py")]
    assert len(sources) > 20
    assert [use for path in sources for use in _unsafe_uses(path)] == []


def test_the_scan_catches_an_unpickling_module(tmp_path: Path) -> None:
    bad = tmp_path / "unsafe.py"
    bad.write_text(
        "import pickle\nfrom multiprocessing import Queue\n"
        "import importlib\nimportlib.import_module('marshal')\n"
        "def f(conn):\n    return conn.recv()\n"
    )
    uses = [u.rpartition(": ")[2] for u in _unsafe_uses(bad)]
    assert sorted(uses) == ["Queue", "marshal", "pickle", "recv"]
