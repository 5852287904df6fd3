"""The on-disk event format: round trips, payload checks and corrupt bytes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aion_actors.core import (
    EVENT_TYPES,
    MAX_DEPTH,
    MAX_PAYLOAD_BYTES,
    SCHEMA_VERSION,
    CorruptEvent,
    Event,
    PayloadError,
    check_payload,
    decode_event,
    encode_event,
    packb,
    unpackb,
)
from aion_actors.core import events as ev
from tests.core.strategies import EVENTS, INT64, PAYLOADS, TEXT

ERROR = {"type": "ValueError", "message": "bad card", "traceback": "Traceback ..."}
SAMPLES: dict[str, Event] = {
    e.kind: e
    for e in (
        ev.WorkflowStarted(
            workflow_type="checkout",
            input={"card": "x", "amount": 5},
            run_id="r1",
            version="v3",
            parent={"workflow_id": "p", "run_id": "pr"},
        ),
        ev.WorkflowCompleted(result={"ok": True}),
        ev.WorkflowFailed(error=ERROR),
        ev.WorkflowCancelRequested(reason="user asked"),
        ev.WorkflowCancelled(reason="user asked"),
        ev.WorkflowTerminated(reason="operator"),
        ev.WorkflowTimedOut(timeout="run", reason="its run_timeout ran out"),
        ev.WorkflowContinuedAsNew(next_run_id="r2", input=[1, 2]),
        ev.RunCrashed(pid=7, error=ERROR, traceback="tb"),
        ev.RunRestarted(pid=8, attempt=2, backoff=0.25),
        ev.RunParked(reason="restart intensity exhausted"),
        ev.RunResumed(),
        ev.ActivityScheduled(activity_id="a1", name="charge", input=["x", 5], attempt=2),
        ev.ActivityCompleted(activity_id="a1", result={"receipt": b"\x00\x01"}),
        ev.ActivityAttemptFailed(activity_id="a1", attempt=1, error=ERROR, retry_at=10**18),
        ev.ActivityHandedOff(activity_id="a1", attempt=2, timeout=1.5, timeout_at=3 * 10**18),
        ev.ActivityFailed(activity_id="a1", error=ERROR),
        ev.ActivityHeartbeat(activity_id="a1", attempt=2, details={"row": 41}),
        ev.ActivityCancelRequested(activity_id="a1", mode="wait"),
        ev.TimerStarted(timer_id="t1", fire_at=2 * 10**18),
        ev.TimerFired(timer_id="t1"),
        ev.TimerCancelled(timer_id="t1"),
        ev.SignalReceived(name="approve", payload={"by": "ops"}),
        ev.ChildStarted(child_workflow_id="c", child_run_id="cr", workflow_type="ship"),
        ev.ChildCompleted(child_workflow_id="c", child_run_id="cr", result=3),
        ev.ChildFailed(child_workflow_id="c", child_run_id="cr", error=ERROR),
        ev.ChildRunStarted(child_workflow_id="c", child_run_id="cr"),
        ev.ExternalRequested(
            request_id="3", target_workflow_id="t", action="signal", name="go", payload=[1]
        ),
        ev.ExternalRequestDone(request_id="3", error=ERROR),
        ev.PatchApplied(patch_id="charge-v2"),
        ev.UpdateAccepted(update_id="u1", name="add_item", payload={"sku": "a"}),
        ev.UpdateCompleted(update_id="u1", result=2),
        ev.RunPaused(reason="investigating"),
        ev.RunUnpaused(),
        ev.WorkflowQueued(queue="payments", key="acme", priority=2, dedup_id="order-1"),
        ev.RunDequeued(),
        ev.WorkflowReset(next_run_id="r3", to_seq=5, reason="step 3 fixed"),
        ev.AttributesSet(attributes={"customer": "c-7", "priority": 2, "gone": None}),
    )
}


def test_samples_cover_every_event_kind() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_every_kind_round_trips_with_seq_and_recorded_at(kind: str) -> None:
    event = SAMPLES[kind]
    stamped = dataclasses.replace(event, seq=42, recorded_at=1_700_000_000_123_456_789)
    data = encode_event(stamped)
    assert decode_event(data, workflow_id="w", run_id="r", seq=42) == stamped
    record = msgpack.unpackb(data, raw=False)
    assert record["v"] == SCHEMA_VERSION and record["kind"] == kind
    assert record["seq"] == 42 and record["recorded_at"] == 1_700_000_000_123_456_789


@given(EVENTS)
def test_arbitrary_events_round_trip(event: Event) -> None:
    assert decode_event(encode_event(event)) == event


@given(PAYLOADS)
def test_arbitrary_payloads_round_trip(value: Any) -> None:
    assert unpackb(check_payload(value)) == value


def test_datetime_and_uuid_travel_as_extension_types() -> None:
    value = {
        "at": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        "naive": dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }
    decoded = unpackb(packb(value))
    assert decoded == value
    assert decoded["at"].tzinfo is not None and decoded["naive"].tzinfo is None


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_to_an_event_or_corrupt_event(data: bytes) -> None:
    _decode_or_corrupt(data)


_RECORDS = st.builds(
    lambda kind, fields, extra: {"v": SCHEMA_VERSION, "kind": kind, **fields, **extra},
    st.sampled_from(sorted(EVENT_TYPES)),
    st.dictionaries(
        st.sampled_from(
            ["seq", "recorded_at", "input", "result", "error", "timer_id", "fire_at", "pid"]
        ),
        PAYLOADS,
    ),
    st.dictionaries(TEXT | INT64, PAYLOADS, max_size=2),
)


@given(_RECORDS)
def test_plausible_but_wrong_maps_decode_to_an_event_or_corrupt_event(record: Any) -> None:
    _decode_or_corrupt(packb(record))


@given(EVENTS, st.data())
def test_damaged_encodings_decode_to_an_event_or_corrupt_event(event: Event, data: Any) -> None:
    raw = bytearray(encode_event(event))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    _decode_or_corrupt(bytes(raw[: data.draw(st.integers(0, len(raw)))]))


def _decode_or_corrupt(data: bytes) -> None:
    try:
        event = decode_event(data, workflow_id="w", run_id="r", seq=3)
    except CorruptEvent as exc:
        assert exc.workflow_id == "w" and exc.run_id == "r" and exc.seq == 3
    else:
        assert isinstance(event, Event) and event.seq == 3


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xc1", "not valid msgpack"),
        (packb([1, 2]), "expected a map"),
        (packb({"v": 99, "kind": "TimerFired", "timer_id": "t"}), "schema version 99"),
        (packb({"v": SCHEMA_VERSION, "kind": "Nope"}), "unknown event kind 'Nope'"),
        (packb({"v": SCHEMA_VERSION, "kind": "TimerFired", "seq": 3}), "fields do not match"),
        (
            packb({"v": SCHEMA_VERSION, "kind": "TimerFired", "seq": 3, "timer_id": 5}),
            "TimerFired.timer_id is a int",
        ),
        (packb({"v": SCHEMA_VERSION, "kind": "TimerFired", "seq": 4, "timer_id": "t"}), "seq 4"),
        (msgpack.packb(msgpack.ExtType(77, b"x")), "not valid msgpack"),
    ],
)
def test_corrupt_event_says_what_and_where(data: bytes, problem: str) -> None:
    with pytest.raises(CorruptEvent) as info:
        decode_event(data, workflow_id="order-42", run_id="r9", seq=3)
    message = str(info.value)
    assert problem in message
    assert "'order-42'" in message and "run r9" in message and "seq 3" in message


def test_payload_error_names_the_path() -> None:
    with pytest.raises(PayloadError) as info:
        check_payload({"items": [1, 2, 3, {4}]})
    assert str(info.value) == 'input["items"][3]: set is not serialisable'
    assert info.value.path == 'input["items"][3]'


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (ev.SignalReceived(name=None, payload=1), "SignalReceived.name"),  # type: ignore[arg-type]
        (ev.WorkflowCancelRequested(reason=5), "WorkflowCancelRequested.reason"),  # type: ignore[arg-type]
        (ev.ActivityScheduled(activity_id=1, name="f", input=[]), "ActivityScheduled.activity_id"),  # type: ignore[arg-type]
    ],
)
def test_an_event_the_decoder_would_refuse_is_never_encoded(event: Event, field: str) -> None:
    """(What `decode_event` calls corrupt cannot be written: the append is refused whole.)"""
    with pytest.raises(PayloadError) as info:
        encode_event(event)
    assert info.value.path == field and "must be a str" in str(info.value)


def test_encoding_an_event_with_a_bad_payload_names_the_field() -> None:
    event = ev.ActivityScheduled(activity_id="a", name="f", input={"items": [1, object()]})
    with pytest.raises(PayloadError, match=r'ActivityScheduled\.input\["items"\]\[1\]: object'):
        encode_event(event)


@pytest.mark.parametrize(
    ("value", "path", "problem"),
    [
        ({(1, 2): "x"}, "input[(1, 2)]", "dict key of type tuple"),
        ([2**64], "input[0]", "64-bit range"),
        ({"a": -(2**63) - 1}, 'input["a"]', "64-bit range"),
        (["ok", "\ud800"], "input[1]", "surrogates"),
        ({"f": lambda: 1}, 'input["f"]', "function is not serialisable"),
        (bytearray(b"x"), "input", "bytearray is not serialisable"),
    ],
)
def test_values_that_are_not_msgpack_are_refused(value: Any, path: str, problem: str) -> None:
    with pytest.raises(PayloadError) as info:
        check_payload(value)
    assert info.value.path == path and problem in str(info.value)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_depth_limit_is_a_payload_error_not_a_recursion_error() -> None:
    check_payload(_nested(MAX_DEPTH - 1))
    for depth in (MAX_DEPTH + 1, 100_000):
        with pytest.raises(PayloadError, match=f"nested more than {MAX_DEPTH} levels"):
            check_payload(_nested(depth))
    with pytest.raises(PayloadError, match="nested more than"):
        encode_event(ev.SignalReceived(name="s", payload=_nested(100_000)))


def test_size_limit() -> None:
    assert check_payload("x" * 100, max_bytes=200)
    with pytest.raises(PayloadError, match="over the 200-byte payload limit"):
        check_payload("x" * 300, max_bytes=200)
    with pytest.raises(PayloadError, match=f"over the {MAX_PAYLOAD_BYTES}-byte"):
        check_payload(b"x" * MAX_PAYLOAD_BYTES)


def test_an_object_that_is_not_an_event_kind_is_refused() -> None:
    with pytest.raises(PayloadError, match="Event is not an event kind"):
        encode_event(Event())


def test_records_from_before_the_timeout_fields_decode_as_having_no_timeouts() -> None:
    """Fields added later default when absent: a data directory written before
    workflow timeouts existed replays unchanged."""
    head = {"v": SCHEMA_VERSION, "seq": 1, "recorded_at": 5}
    started = decode_event(
        packb(
            {
                **head,
                "kind": "WorkflowStarted",
                "workflow_type": "w",
                "input": [],
                "run_id": "r",
                "version": "v",
                "parent": None,
            }
        ),
        seq=1,
    )
    assert isinstance(started, ev.WorkflowStarted)
    assert (started.execution_deadline, started.run_deadline, started.run_timeout) == (None,) * 3
    timed_out = decode_event(packb({**head, "kind": "WorkflowTimedOut"}), seq=1)
    assert timed_out == ev.WorkflowTimedOut(seq=1, recorded_at=5)
    child = decode_event(
        packb(
            {
                **head,
                "kind": "ChildStarted",
                "child_workflow_id": "c",
                "child_run_id": "cr",
                "workflow_type": "w",
            }
        ),
        seq=1,
    )
    assert isinstance(child, ev.ChildStarted)
    assert (child.execution_deadline, child.run_timeout) == (None, None)


def test_a_hand_off_recorded_before_attempt_timeouts_decodes_as_having_none() -> None:
    record = {"v": SCHEMA_VERSION, "seq": 3, "recorded_at": 5, "kind": "ActivityHandedOff"}
    handoff = decode_event(packb({**record, "activity_id": "1", "attempt": 2}), seq=3)
    assert handoff == ev.ActivityHandedOff(seq=3, recorded_at=5, activity_id="1", attempt=2)
    assert (handoff.timeout, handoff.timeout_at) == (None, None)
    with pytest.raises(CorruptEvent, match="timeout_at"):
        bad = {**record, "activity_id": "1", "attempt": 2, "timeout_at": "soon"}
        decode_event(packb(bad), seq=3)


def test_a_run_timeout_that_is_no_number_is_corrupt() -> None:
    record = {
        "v": SCHEMA_VERSION,
        "seq": 1,
        "recorded_at": 5,
        "kind": "WorkflowStarted",
        "workflow_type": "w",
        "input": [],
        "run_id": "r",
        "version": "v",
        "run_timeout": "soon",
    }
    with pytest.raises(CorruptEvent, match="run_timeout"):
        decode_event(packb(record), seq=1)


def test_a_workflow_started_written_before_reset_from_existed_decodes_with_none() -> None:
    started = dataclasses.replace(SAMPLES["WorkflowStarted"], seq=1, recorded_at=5)
    record = msgpack.unpackb(encode_event(started), raw=False)
    del record["reset_from"]
    decoded = decode_event(msgpack.packb(record), seq=1)
    assert isinstance(decoded, ev.WorkflowStarted) and decoded.reset_from is None
