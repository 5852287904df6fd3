"""Exported history files: every event kind and every msgpack value comes back exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import uuid
from pathlib import Path
from typing import Any

import pytest

from aion_actors.core import EVENT_TYPES, ConfigError, Event
from aion_actors.core import events as ev
from aion_actors.core.json_values import from_json, to_json
from aion_actors.testing import History, history_document, read_history_file, write_history_file
from aion_actors.testing.histories import history_from_document

ODD: dict[Any, Any] = {
    "when": dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "naive": dt.datetime(2024, 1, 1),
    "id": uuid.uuid4(),
    "raw": b"\x00\x80\xff",
    "$uuid": "a payload key that looks like a tag",
    -3: [math.inf, -math.inf, 1.5, None, True, "é"],
    "empty": {},
}
#: a value per annotation, as the codec checks each field's type
_SAMPLES: dict[str, Any] = {
    "int": 7,
    "str": "text",
    "float": 2.5,
    "bool": True,
    "Any": ODD,
    "ErrorInfo": {"type": "ValueError", "message": "bad", "details": ODD},
    "int | None": 9,
    "float | None": 0.25,
    "dict[str, Any] | None": {"workflow_id": "parent", "odd": ODD},
    "dict[str, Any]": {"customer": "c-7", "odd": ODD},
    "ErrorInfo | None": {"type": "KeyError", "message": "k"},
    "str | None": "maybe",
}


def _sample(cls: type[Event], seq: int) -> Event:
    fields = {
        f.name: _SAMPLES[str(f.type)]
        for f in dataclasses.fields(cls)
        if f.name not in ("seq", "recorded_at")
    }
    return cls(seq=seq, recorded_at=1_700_000_000_123_456_789 + seq, **fields)


def test_every_event_kind_round_trips_through_an_exported_file(tmp_path: Path) -> None:
    kinds = [ev.WorkflowStarted, *(c for c in EVENT_TYPES.values() if c is not ev.WorkflowStarted)]
    events = [_sample(cls, seq) for seq, cls in enumerate(kinds, start=1)]
    history = History.of(events, workflow_id="every-kind")
    path = tmp_path / "every.json"
    path.write_text(json.dumps(history_document(history)))  # strict JSON: no NaN, no bytes
    back = read_history_file(path)
    assert back.events == tuple(events) and len(back.events) == len(EVENT_TYPES)
    assert (back.workflow_id, back.run_id) == ("every-kind", history.run_id)


class _PathLike:
    """A path-like that is no `Path`: what `os.fspath` accepts."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __fspath__(self) -> str:
        return str(self._path)


def test_a_history_file_is_written_and_read_at_a_str_or_any_path_like(tmp_path: Path) -> None:
    events = [_sample(ev.WorkflowStarted, 1), _sample(ev.WorkflowCompleted, 2)]
    history = History.of(events, workflow_id="paths")
    for path in (str(tmp_path / "s.json"), tmp_path / "p.json", _PathLike(tmp_path / "l.json")):
        write_history_file(history, path)
        assert read_history_file(path).events == tuple(events)


@pytest.mark.parametrize(
    "value",
    [ODD, [ODD, [b""]], {1: {2: b"x"}}, {"$map": 1}, {b"k": 1}, math.inf, "plain", None],
)
def test_json_values_round_trip_and_are_strict_json(value: Any) -> None:
    text = json.dumps(to_json(value), allow_nan=False)
    assert from_json(json.loads(text)) == value


def test_nan_round_trips_as_nan() -> None:
    assert math.isnan(from_json(json.loads(json.dumps(to_json(math.nan), allow_nan=False))))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not an exported history"),
        ({"format": "aion-actors/history", "version": 9, "events": []}, "format version 9"),
        ({"format": "aion-actors/history", "version": 1, "events": {}}, '"events" is not a list'),
        (
            {"format": "aion-actors/history", "version": 1, "events": [{"kind": "Nope"}]},
            "unknown event kind 'Nope'",
        ),
        (
            {
                "format": "aion-actors/history",
                "version": 1,
                "events": [{"kind": "TimerFired", "seq": 1, "timer_id": {"$bytes": "!"}}],
            },
            r"malformed \$bytes",
        ),
        (
            {"format": "aion-actors/history", "version": 1, "events": [{"kind": "RunResumed"}]},
            "begins with RunResumed, not WorkflowStarted",
        ),
    ],
)
def test_a_malformed_history_file_is_refused_naming_what_is_wrong(doc: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        history_from_document(doc, "sample.json")
    assert "sample.json" in str(raised.value) or "(unnamed)" in str(raised.value)


def _numbered(*seqs: int) -> dict[str, Any]:
    """A history document whose events carry `seqs`, in that order."""
    events = [_sample(ev.WorkflowStarted, 1), *(_sample(ev.TimerFired, n) for n in seqs[1:])]
    doc = history_document(History.of(events, workflow_id="numbered"))
    for record, seq in zip(doc["events"], seqs, strict=True):
        record["seq"] = seq
    return doc


@pytest.mark.parametrize(
    ("seqs", "message"),
    [
        ((1, 99, 3), r"events\[1\] has seq 99, expected 2"),
        ((1, 2, 2), r"events\[2\] has seq 2, expected 3"),  # a repeated event
        ((1, 3, 4), r"events\[1\] has seq 3, expected 2"),  # a gap
        ((2, 3), r"events\[0\] has seq 2, expected 1"),
    ],
)
def test_a_history_file_whose_seqs_are_not_one_to_n_is_refused(
    seqs: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        history_from_document(_numbered(*seqs), "sample.json")
    text = str(raised.value)
    assert text.startswith("history file sample.json: ") and "without gaps or repeats" in text
    assert "export it again with `aion-actors history DIR WORKFLOW_ID --json > FILE`" in text


def test_a_history_file_whose_header_contradicts_its_first_event_is_refused() -> None:
    doc = _numbered(1, 2)
    doc["workflow_type"] = "checkout"
    with pytest.raises(ConfigError, match="workflow_type 'checkout', but its WorkflowStarted"):
        history_from_document(doc, "sample.json")


def test_a_bad_event_in_a_file_is_named_by_file_and_index_with_a_file_remedy() -> None:
    doc = _numbered(1, 2)
    doc["events"][1]["kind"] = "Nope"
    with pytest.raises(ConfigError) as raised:
        history_from_document(doc, "sample.json")
    text = str(raised.value)
    assert "history file sample.json: events[1]: unknown event kind 'Nope'" in text
    assert "export it again with" in text and "data directory" not in text
