"""`supervisor/` stands alone: its imports point one way and it knows no host's words."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "supervisor"
MODULES = {path.stem: path for path in sorted(PACKAGE.glob("*.py"))}
#: moving out of supervisor/ into the engine's run table, with the words they hold
HOST_WORDS = re.compile(r"workflow|run_id|activit", re.IGNORECASE)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import at any depth (functions too), but those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _targets(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules of this package ``node`` imports (``__init__`` for the package)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level:
        names = [f"supervisor.{node.module}" if node.module else "supervisor"]
    else:
        names = [node.module or ""]
    targets = set()
    for name in names:
        if name == "supervisor" and isinstance(node, ast.ImportFrom):
            # `from supervisor import x`: module x if it is one, else the package
            for alias in node.names:
                targets.add(alias.name if alias.name in MODULES else "__init__")
        elif name == "supervisor":
            targets.add("__init__")
        elif name.startswith("supervisor."):
            targets.add(name.split(".")[1])
    return targets


def _graph() -> dict[str, set[str]]:
    return {
        stem: set().union(*(_targets(node) for node in _imports(ast.parse(path.read_text()))))
        - {stem}
        for stem, path in MODULES.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path that ends where it starts, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_checker_finds_a_cycle_and_skips_type_checking_imports() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    code = (
        "from typing import TYPE_CHECKING\n"
        "from supervisor import spec, Backoff\n"
        "if TYPE_CHECKING:\n    from supervisor.supervisor import Supervisor\n"
        "def f():\n    import supervisor._actor\n"
    )
    found = set().union(*(_targets(node) for node in _imports(ast.parse(code))))
    assert found == {"spec", "__init__", "_actor"}


def test_imports_inside_the_package_point_one_way() -> None:
    graph = _graph()
    assert set(graph) >= {"_actor", "_pykka", "spec", "supervisor", "process", "pooled"}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or ())}"


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
