"""`Config.unknown_names`: tables whose name matches no registered workflow type or activity."""

from __future__ import annotations

from pathlib import Path

from aion_actors.config import Config

TYPOS = """
[restart.default]
max_restarts = 5

[restart.chekout]
max_restarts = 1

[restart.ship]
max_restarts = 2

[activity.chrge]
timeout = 3

[activity.label]
timeout = 1
"""


def test_tables_naming_no_registered_type_are_reported_with_a_suggestion(
    tmp_path: Path,
) -> None:
    path = tmp_path / "aion.toml"
    path.write_text(TYPOS)
    config = Config.load(path)
    problems = config.unknown_names(["checkout", "ship"], ["charge", "label", "reserve"])
    assert problems == [
        f"{path}: [restart.chekout] names no registered workflow type; "
        "did you mean [checkout]? registered: checkout, ship",
        f"{path}: [activity.chrge] names no registered activity; "
        "did you mean [charge]? registered: charge, label, reserve",
    ]


def test_every_table_matching_a_registered_name_reports_nothing() -> None:
    config = Config.parse("[restart.default]\nmax_restarts = 1\n[activity.charge]\ntimeout = 2\n")
    assert config.unknown_names([], ["charge"]) == []  # [restart.default] is no type's name
    assert Config().unknown_names([], []) == []


def test_without_a_close_name_the_registered_names_are_listed() -> None:
    config = Config.parse("[restart.zzz]\nmax_restarts = 1\n", source="ops.toml")
    many = [f"flow{i:02}" for i in range(12)]
    (problem,) = config.unknown_names(many, [])
    assert problem == (
        "ops.toml: [restart.zzz] names no registered workflow type; registered: "
        + ", ".join(many[:10])
        + " and 2 more"
    )
    (problem,) = config.unknown_names([], [])
    assert problem.endswith("names no registered workflow type; no workflow type is registered")
