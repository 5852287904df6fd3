"""Answers from a history alone: a run with no actor to ask is replayed read-only.

A closed run (or a parked one) still answers queries, from the state its
workflow code had when its history ended, as Temporal answers queries on
closed workflows: its history is replayed into a `Machine` that records
nothing and acts on nothing, and the query handlers it registered answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aion_actors.core import NonDeterminismError, PayloadConverter, QueryError, RunKey
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.machine import Machine


def answer_live(machine: Machine | None, query: msg.Query, key: RunKey) -> None:
    """Answer `query` from a live run's state (through its reply; never recorded)."""
    try:
        if machine is None:
            raise QueryError(
                f"workflow {key.workflow_id!r} (run {key.run_id}) cannot answer queries: "
                "it is parked or its history could not be read"
            )
        answer = machine.answer_query(query.name, query.args)
    except Exception as exc:
        query.reply.set_exception(exc)
    else:
        query.reply.set_result(answer)


def answer_query(
    definition: WorkflowDefinition,
    key: RunKey,
    history: Sequence[ev.Event],
    name: str,
    args: tuple[Any, ...],
    *,
    max_payload_bytes: int,
    converter: PayloadConverter | None = None,
) -> Any:
    """Replay `history` without recording anything, then ask the query handler `name`."""
    machine = Machine(
        definition,
        *key,
        history,
        max_payload_bytes=max_payload_bytes,
        converter=converter,
        rebuilt=True,
    )
    try:
        machine.advance()
    except NonDeterminismError as exc:
        raise QueryError(
            f"workflow {key.workflow_id!r} (run {key.run_id}) cannot answer {name!r}: "
            f"its history no longer replays with the registered code ({exc})"
        ) from exc
    except Exception:  # the code crashed at this point live too: its state up to here answers
        pass
    return machine.answer_query(name, args)
