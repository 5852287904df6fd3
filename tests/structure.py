"""Reading the project's own sources for their structure: import graphs, cycles, loops.

Imports under `if TYPE_CHECKING:` are left out (they never run); imports
inside functions are kept (they run, only later).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules(package: str) -> dict[str, Path]:
    """Every module of `package` (a top-level package of the repo) by dotted name."""
    base = ROOT / package.replace(".", "/")
    found: dict[str, Path] = {}
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
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


def targets(node: ast.Import | ast.ImportFrom, module: str, known: set[str]) -> set[str]:
    """The modules among `known` that `node`, in `module`, imports."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return {_owner(name, known) for name in names} - {None}  # type: ignore[return-value]
    if node.level:
        base = module.split(".")[: -node.level] if node.level else []
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    found: set[str] = set()
    for alias in node.names:
        owner = _owner(f"{source}.{alias.name}", known) or _owner(source, known)
        if owner is not None:
            found.add(owner)
    return found


def _owner(name: str, known: set[str]) -> str | None:
    """The module `name` is, or the closest module of `known` it lives in."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def graph(*packages: str) -> dict[str, set[str]]:
    """Module -> the modules (of `packages`) it imports."""
    found = {name: path for package in packages for name, path in modules(package).items()}
    known = set(found)
    return {
        name: set().union(
            *(targets(node, name, known) for node in imports(ast.parse(path.read_text())))
        )
        - {name}
        for name, path in found.items()
    }


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path that ends where it starts, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def sleeps_in_loops(path: Path) -> list[int]:
    """Lines where `time.sleep` (or a bare `sleep`) is called inside a `for`/`while` loop."""
    lines: list[int] = []

    def visit(node: ast.AST, in_loop: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            in_loop = False  # a function defined in a loop runs when called
        if isinstance(node, ast.Call) and in_loop:
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "sleep") or (
                isinstance(func, ast.Name) and func.id == "sleep"
            ):
                lines.append(node.lineno)
        looping = in_loop or isinstance(node, ast.For | ast.While | ast.AsyncFor)
        for child in ast.iter_child_nodes(node):
            visit(child, looping)

    visit(ast.parse(path.read_text()), False)
    return lines
