"""The code's shape, checked from its sources: imports point one way, modules stay small,
nobody waits by polling, and the engine facade speaks to the run table in verbs only."""

from __future__ import annotations

import ast

import pytest

from tests.structure import ROOT, cycle, graph, modules, sleeps_in_loops

MAX_LINES = 400


def _within(edges: dict[str, set[str]], prefix: str) -> dict[str, set[str]]:
    inside = {name for name in edges if name == prefix or name.startswith(prefix + ".")}
    return {name: edges[name] & inside for name in inside}


def test_the_checker_finds_cycles_and_sleeps_in_loops(tmp_path: pytest.TempPathFactory) -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
    source = ROOT / "tests" / "_sleepy_sample.py"
    source.write_text(
        "import time\n"
        "while True:\n    time.sleep(0.1)\n"
        "for _ in range(3):\n    def later():\n        time.sleep(1)\n"
        "time.sleep(2)\n"
    )
    try:
        assert sleeps_in_loops(source) == [3]
    finally:
        source.unlink()


@pytest.mark.parametrize("package", ["aion_actors.runtime", "aion_actors", "supervisor"])
def test_imports_inside_a_package_form_no_circle(package: str) -> None:
    edges = _within(graph("aion_actors", "supervisor"), package)
    assert len(edges) > 5
    found = cycle(edges)
    assert found is None, f"import cycle: {' -> '.join(found or ())}"


def test_supervisor_never_imports_the_engine() -> None:
    edges = graph("aion_actors", "supervisor")
    for name, imported in edges.items():
        if name.startswith("supervisor"):
            assert not any(m.startswith("aion_actors") for m in imported), name


def test_the_run_table_parts_import_one_way_and_none_takes_the_manager() -> None:
    edges = _within(graph("aion_actors"), "aion_actors.runtime.runs")
    order = ["table", "waiters", "residency", "starts", "endings", "requests", "recovery"]
    rank = {f"aion_actors.runtime.runs.{part}": i for i, part in enumerate(order)}
    for name, imported in edges.items():
        if name in rank:
            for other in imported & rank.keys():
                assert rank[other] < rank[name], f"{name} imports {other}"
            assert "aion_actors.runtime.runs.manager" not in imported, name


def test_the_engine_sees_verbs_only() -> None:
    """No run table internals (entries, presence, registry handles) in the facade."""
    for name in ("aion_actors.engine", "aion_actors.handles"):
        tree = ast.parse(modules("aion_actors")[name].read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith(("aion_actors.runtime.runs", "supervisor"))
            for alias in node.names
        }
        verbs = {"RunManager", "Whereabouts", "new_runs", "RestartPolicy"}
        assert imported <= verbs, (name, imported)
        private = [
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ]
        assert private == [], (name, private)


@pytest.mark.parametrize("package", ["aion_actors", "supervisor", "benchmarks"])
def test_no_module_is_over_400_lines(package: str) -> None:
    long = {
        name: n
        for name, path in modules(package).items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_nobody_waits_by_polling() -> None:
    """No `time.sleep` in a loop where the engine waits: whoever makes a state true
    wakes its waiters."""
    paths = [
        *modules("aion_actors.runtime").values(),
        ROOT / "aion_actors" / "engine.py",
        *modules("supervisor").values(),
    ]
    found = {str(p.relative_to(ROOT)): lines for p in paths if (lines := sleeps_in_loops(p))}
    assert found == {}
