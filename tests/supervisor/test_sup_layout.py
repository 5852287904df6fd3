"""`supervisor/` stands alone: its imports point one way and it knows no host's words."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.structure import cycle, graph, imports, modules, targets

PACKAGE = Path(__file__).resolve().parents[2] / "supervisor"
MODULES = {path.stem: path for path in sorted(PACKAGE.glob("*.py"))}
#: moving out of supervisor/ into the engine's run table, with the words they hold
HOST_WORDS = re.compile(r"workflow|run_id|activit", re.IGNORECASE)


def _stem(name: str) -> str:
    return name.rpartition(".")[2] if "." in name else "__init__"


def _graph() -> dict[str, set[str]]:
    """supervisor/'s modules by file stem -> the stems they import (`__init__` the package)."""
    return {_stem(m): {_stem(t) for t in ts} for m, ts in graph("supervisor").items()}


def test_the_checker_finds_a_cycle_and_skips_type_checking_imports() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
    code = (
        "from typing import TYPE_CHECKING\n"
        "from supervisor import spec, Backoff\n"
        "if TYPE_CHECKING:\n    from supervisor.supervisor import Supervisor\n"
        "def f():\n    import supervisor._actor\n"
    )
    known = set(modules("supervisor"))
    found = set().union(*(targets(n, "supervisor.x", known) for n in imports(ast.parse(code))))
    assert {_stem(name) for name in found} == {"spec", "__init__", "_actor"}


def test_imports_inside_the_package_point_one_way() -> None:
    graph = _graph()
    assert set(graph) >= {"_actor", "_pykka", "spec", "supervisor", "process", "pooled"}
    assert cycle(graph) is None, f"import cycle: {' -> '.join(cycle(graph) or ())}"


def test_the_handle_is_built_by_the_actor_which_does_not_import_it() -> None:
    graph = _graph()
    assert "_actor" in graph["supervisor"]
    assert "supervisor" not in graph["_actor"]
    assert "supervisor" not in graph["spec"]
    assert "__init__" not in set().union(*(graph[m] for m in graph if m != "__init__"))


def test_the_package_never_imports_its_host() -> None:
    for stem, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):  # TYPE_CHECKING blocks included
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(name.split(".")[0] == "aion_actors" for name in names), stem


def test_the_package_holds_no_host_words() -> None:
    """Not in code, not in docstrings, not in comments: it knows nothing of its hosts."""
    for path in [*MODULES.values(), PACKAGE / "README.md"]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not HOST_WORDS.search(line), f"{path.name}:{number}: {line.strip()}"
