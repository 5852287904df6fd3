"""Ids the store can key, and errors that say what failed, where, and what to do."""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Any

import pytest

import aion_actors
import supervisor
from aion_actors.core import (
    AionError,
    CorruptEvent,
    DataDirLocked,
    PayloadError,
    SchemaMismatch,
    SequenceConflict,
    check_id,
    new_run_id,
    new_workflow_id,
)
from aion_actors.core.events import EVENT_TYPES


def test_new_ids_are_unique_uuid_hex() -> None:
    ids = {new_run_id() for _ in range(100)} | {new_workflow_id() for _ in range(100)}
    assert len(ids) == 200 and all(len(i) == 32 for i in ids)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "must not be empty"),
        (7, "must be a str, got int"),
        ("a\x00b", "NUL"),
        ("x" * 201, "longer than 200 bytes"),
        ("é" * 101, "longer than 200 bytes"),
        ("\udc80", "surrogates"),
    ],
)
def test_check_id_refuses_what_cannot_be_a_key(value: Any, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem) as info:
        check_id(value, "workflow_id")
    assert info.value.path == "workflow_id"


def test_check_id_accepts_ordinary_ids() -> None:
    assert check_id("order-42", "workflow_id") == "order-42"
    assert check_id("x" * 200, "run_id") == "x" * 200


def test_every_public_error_is_importable_from_the_package() -> None:
    names = [
        "AionError", "PayloadError", "CorruptEvent", "SequenceConflict", "DataDirLocked",
        "SchemaMismatch", "ConfigError", "WorkflowNotFound", "WorkflowAlreadyStarted",
        "WorkflowFailed", "WorkflowError", "NonDeterminismError", "WorkerCrashed",
        "QueryError", "EngineClosed",
    ]  # fmt: skip
    for name in names:
        assert issubclass(getattr(aion_actors, name), AionError), name


def test_sequence_conflict_carries_expected_and_found() -> None:
    exc = SequenceConflict(3, 5, workflow_id="order-42", run_id="r1")
    assert (exc.expected, exc.found) == (3, 5)
    assert "'order-42'" in str(exc) and "expected head 3, found 5" in str(exc)
    assert "nothing was written" in str(exc)


def test_store_errors_name_the_thing_and_the_way_out() -> None:
    locked = DataDirLocked("/data", 1234)
    assert locked.holder_pid == 1234 and "process 1234" in str(locked)
    assert "read-only" in str(locked)
    mismatch = SchemaMismatch("/data", 2, 1)
    assert "schema version 2" in str(mismatch) and "nothing was changed" in str(mismatch)
    corrupt = CorruptEvent("bad", workflow_id="w", run_id="r", seq=9)
    assert "seq 9" in str(corrupt) and "backup" in str(corrupt)


def test_new_ids_are_uuid7s_in_time_order_so_a_commits_new_runs_sit_side_by_side() -> None:
    import time
    import uuid

    before = time.time_ns() // 1_000_000
    made = [new_run_id() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    parsed = [uuid.UUID(hex=i) for i in made]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    stamps = [u.int >> 80 for u in parsed]
    assert stamps == sorted(stamps) and before <= stamps[0] and stamps[-1] <= after
    assert len(set(made)) == 2000


def test_ctx_random_is_seeded_by_the_run_id_and_made_only_when_first_drawn_from() -> None:
    import random
    import uuid

    from aion_actors.runtime.context import WorkflowContext

    run_id = new_run_id()
    ctx = WorkflowContext("w", run_id, 0)
    assert ctx._rng is None  # noqa: SLF001 - a run that draws nothing builds no generator
    expected = random.Random(uuid.UUID(hex=run_id).int)
    assert [ctx.random(), ctx.uuid4()] == [
        expected.random(),
        uuid.UUID(int=expected.getrandbits(128), version=4),
    ]


def test_every_error_the_readme_names_is_importable_from_the_package() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    named = set(re.findall(r"`([A-Z][A-Za-z]+(?:Error|Timeout|Failed|Closed|Crashed))`", readme))
    others = set(dir(builtins)) | set(EVENT_TYPES) | set(supervisor.__all__)  # not ours to export
    missing = sorted(n for n in named - others if not hasattr(aion_actors, n))
    assert missing == [], f"README names errors not exported by aion_actors: {missing}"
