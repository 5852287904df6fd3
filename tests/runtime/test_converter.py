"""The payload converter on a real engine: typed values in, msgpack on disk, typed values out."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import (
    ConfigError,
    DefaultConverter,
    Engine,
    PayloadError,
    TypedConverter,
    WorkflowFailed,
)
from aion_actors.core import events as ev
from tests.runtime import typed_flows as tf
from tests.workers.helpers import wait_until


@pytest.fixture
def typed(data_dir: Path) -> Iterator[Engine]:
    with Engine.open(data_dir, workers=1, converter=TypedConverter()) as engine:
        engine.register(*tf.ALL)
        yield engine


def test_typed_values_cross_every_boundary_and_history_holds_plain_msgpack(typed: Engine) -> None:
    run = typed.start(tf.checkout, tf.an_order(), (3, 4), workflow_id="typed")
    quote, seen = run.result(timeout=30)
    assert isinstance(quote, tf.Quote) and quote.span == (1, 2) and quote.total == 500
    # the workflow got an Order and a tuple; both executors got Order/Item/tuple/Rush
    assert (
        seen
        == ["Order", "tuple", "Quote", "tuple", "Quote", "Quote", "Quote"]
        + [
            "Order",
            "Item",
            "tuple",
            "Rush",
        ]
        * 2
    )
    assert typed.result("typed") == (quote, seen)  # engine.result is typed too
    history = typed.history("typed")
    started = history[0]
    assert isinstance(started, ev.WorkflowStarted)
    order, spans = started.input
    assert order["items"] == [{"sku": "book", "qty": 2}, {"sku": "pen", "qty": 3}]
    assert order["tags"] == ["gift", "fragile"] and order["rush"] == "express" and spans == [3, 4]
    completed = [e.result for e in history if isinstance(e, ev.ActivityCompleted)]
    assert completed[0] == {
        "order_id": "o-1",
        "total": 500,
        "span": [1, 2],
        "seen": ["Order", "Item", "tuple", "Rush"],
    }
    assert isinstance(history[-1], ev.WorkflowCompleted)
    assert history[-1].result[0]["span"] == [1, 2]


def test_a_replayed_run_gets_typed_results_from_history(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1, converter=TypedConverter()) as engine:
        engine.register(*tf.ALL)
        engine.start(tf.waits_between, tf.an_order(), workflow_id="replayed")
        wait_until(lambda: len(engine.history("replayed")) >= 3, 30, "the activity result")
    with Engine.open(data_dir, workers=1, converter=TypedConverter()) as engine:
        engine.register(*tf.ALL)
        engine.signal("replayed", "go")  # rehydrates the run: replay decodes the recorded Quote
        quote = engine.result("replayed", timeout=30)
    assert isinstance(quote, tf.Quote) and quote.span == (1, 2)


def test_child_results_and_continue_as_new_arguments_are_typed(typed: Engine) -> None:
    assert typed.start(tf.parent_of_child, tf.an_order()).result(timeout=30) == ["Quote", "tuple"]
    assert typed.start(tf.continues, tf.an_order(), 0).result(timeout=30) == [
        "Order",
        "Item",
        "tuple",
    ]


def test_what_the_converter_cannot_encode_is_refused_naming_its_path(typed: Engine) -> None:
    order = tf.an_order()
    order.note = object()  # type: ignore[assignment]
    with pytest.raises(PayloadError) as refused:
        typed.start(tf.checkout, order, (1, 2), workflow_id="never")
    assert 'input[0]["note"]: object is not serialisable' in str(refused.value)
    assert "TypedConverter left it as it was (a type it does not know)" in str(refused.value)
    with pytest.raises(PayloadError, match=r'payload\["when"\]'):
        typed.signal("never-mind", "go", {"when": object()})
    assert typed.list_runs() == []


def test_a_converter_that_breaks_its_contract_is_named_not_the_caller(data_dir: Path) -> None:
    """The caller passed msgpack values; the converter made what is not one. The error
    names the converter and the value's path, never the caller's arguments or result."""
    culprit = "the payload converter MakesObjects made it from a"
    with Engine.open(data_dir, workers=1, converter=tf.MakesObjects()) as engine:
        engine.register(*tf.ALL)
        with pytest.raises(PayloadError) as refused:
            engine.start(tf.asks_for_bad, "bad", workflow_id="never")
        assert str(refused.value).startswith("input[0]: object is not serialisable; " + culprit)
        assert "must be a tuple" not in str(refused.value)
        run = engine.start(tf.asks_for_bad, "fine", workflow_id="fine")
        with pytest.raises(WorkflowFailed) as failed:
            run.result(timeout=30)
        message = failed.value.error["message"]
        assert f"result of activity 'returns_bad': object is not serialisable; {culprit} str" in (
            message
        )
        assert "use only msgpack values" not in message
        with pytest.raises(PayloadError, match=f"^payload: object is not serialisable; {culprit}"):
            engine.signal("fine", "go", "bad")
        assert [r.workflow_id for r in engine.list_runs()] == ["fine"]


def test_an_input_that_does_not_decode_fails_the_run_naming_the_parameter(typed: Engine) -> None:
    run = typed.start(tf.wants_an_order, {"id": "o-9"})  # no items, no placed
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    message = failed.value.error["message"]
    assert failed.value.error["type"] == "PayloadError"
    assert "input[0] (parameter 'order' of workflow 'wants_an_order')" in message
    assert "cannot be decoded as Order" in message


def test_activity_arguments_that_do_not_decode_fail_the_activity_for_good(typed: Engine) -> None:
    run = typed.start(tf.passes_a_bad_item, workflow_id="bad-item")
    with pytest.raises(WorkflowFailed) as failed:
        run.result(timeout=30)
    assert "args[0] (parameter 'item' of activity 'wants_an_item')" in failed.value.error["message"]
    attempts = [e for e in typed.history("bad-item") if isinstance(e, ev.ActivityAttemptFailed)]
    assert len(attempts) == 1 and attempts[0].error["type"] == "PayloadError"


def test_a_converter_reaches_worker_processes_by_import_path_never_pickled(data_dir: Path) -> None:
    converter = tf.MoneyConverter()
    with pytest.raises(TypeError):
        pickle.dumps(converter)
    with Engine.open(data_dir, workers=1, converter=converter) as engine:
        engine.register(*tf.ALL)
        result = engine.start(tf.doubles_money, tf.Money(20)).result(timeout=30)
    assert result == tf.Money(41)
    by_name = "tests.runtime.typed_flows:MoneyConverter"
    with Engine.open(data_dir, workers=1, converter=by_name) as engine:
        engine.register(*tf.ALL)
        assert engine.start(tf.doubles_money, tf.Money(1)).result(timeout=30) == tf.Money(3)


def test_a_converter_workers_cannot_rebuild_is_refused_at_open(data_dir: Path) -> None:
    class Local(TypedConverter):
        pass

    with pytest.raises(ConfigError, match="defined inside a function"):
        Engine.open(data_dir, workers=1, converter=Local())

    class Configured(TypedConverter):
        def __init__(self, strict: bool = False) -> None:
            self.strict = strict

    Configured.__qualname__ = "Configured"  # as if at module level in this test module
    globals()["Configured"] = Configured
    try:
        with pytest.raises(ConfigError, match="differs from"):
            Engine.open(data_dir, workers=1, converter=Configured(strict=True))
    finally:
        del globals()["Configured"]
    with pytest.raises(ConfigError, match="not a payload converter"):
        Engine.open(data_dir, workers=1, converter=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot be imported"):
        Engine.open(data_dir, workers=1, converter="tests.runtime.typed_flows:Nowhere")


def test_the_default_converter_keeps_payloads_as_they_are(data_dir: Path) -> None:
    with Engine.open(data_dir, workers=1) as engine:
        assert isinstance(engine.converter, DefaultConverter)
        engine.register(*tf.ALL)
        assert engine.start(tf.returns_a_tuple).result(timeout=30) == [1, 2]  # a list
        with pytest.raises(PayloadError, match=r"input\[0\]: Order is not serialisable"):
            engine.start(tf.wants_an_order, tf.an_order())


def test_pydantic_models_round_trip_when_pydantic_is_installed(typed: Engine) -> None:
    pytest.importorskip("pydantic", reason="an optional extra: pip install -e '.[pydantic]'")
    from tests.runtime import typed_models as tm

    typed.register(*tm.ALL)
    invoice = tm.Invoice(
        number="A-1",
        lines=[tm.Line(sku="book", price="12.50"), tm.Line(sku="pen", price="1.25")],
        issued="2024-05-01T12:00:00Z",
        span=(1, 2),
    )
    line, back = typed.start(tm.bills, invoice, workflow_id="invoice").result(timeout=30)
    assert isinstance(line, tm.Line) and line.sku == "total:Invoice"
    assert str(line.price) == "13.75" and back == invoice
    started = typed.history("invoice")[0]
    assert isinstance(started, ev.WorkflowStarted)
    assert started.input[0]["lines"][0] == {"sku": "book", "price": "12.50"}  # JSON-mode dump
