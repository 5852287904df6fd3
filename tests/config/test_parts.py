"""The config package's parts import one way, in the order its docstring gives, and
`[workers]` and `[restart.*]` are read by one validator."""

from __future__ import annotations

from aion_actors.config import keys
from tests.structure import graph

ORDER = ["values", "keys", "tables", "names", "file", "apply"]


def test_the_config_parts_import_one_way() -> None:
    edges = graph("aion_actors")
    rank = {f"aion_actors.config.{part}": i for i, part in enumerate(ORDER)}
    assert set(rank) | {"aion_actors.config"} == {
        name for name in edges if name.startswith("aion_actors.config")
    }
    for name, i in rank.items():
        for other in edges[name] & rank.keys():
            assert rank[other] < i, f"{name} imports {other}"


def test_the_workers_keys_are_the_restart_keys_a_pool_uses() -> None:
    assert set(keys.WORKERS_KEYS) == set(keys.RESTART_KEYS) - {
        "strategy",
        "on_exhausted",
        "restart",
    }
    for name, key in keys.WORKERS_KEYS.items():
        assert key is keys.RESTART_KEYS[name]
