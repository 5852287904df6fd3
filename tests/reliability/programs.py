"""Workflows as data: one interpreter workflow runs any program, a pure evaluator predicts it.

A program is a JSON-able list of ops, each one await of the workflow:

- `["act", n]`: activity `bump(value, n)` (a thread activity for even `n`,
  a worker-process one for odd `n`); the value becomes its result;
- `["die", n]`: like `act`, in a worker process that `os._exit(1)`s on the
  activity's first attempt (a worker death the retry policy absorbs);
- `["sleep", ms]`: a durable timer;
- `["signal", k]`: waits for signal `s<k>` (payload `signal_payload`);
- `["poke", k]`: signals its own workflow `p<k>` through `ctx.external` (a request
  recorded on both sides, once);
- `["update", k]`: takes update `u<k>` (sent by the driver, once per run through its
  `update_id`) and waits for it on a condition;
- `["child", program]`: a child workflow interpreting `program` from the
  current value;
- `["gather", [op, ...]]`: those single ops at once, all from the same value;
- `["can"]`: continue-as-new with the rest of the program and the value.

Every op folds its outcome into the value (`fold`), so the result depends on
every step, in order. Activities append `workflow_id run_id activity_id
attempt` to a ledger file (fsync'd) for every execution: the run_id is part
of the line because each continue-as-new run numbers its activities from 1.
"""

from __future__ import annotations

import os
from typing import Any

from aion_actors import (
    RetryPolicy,
    WorkflowContext,
    activity,
    current_attempt,
    workflow,
)
from aion_actors.runtime.definitions import ActivityDefinition, WorkflowDefinition

Program = list[Any]

_MODULUS = 1_000_003
_RETRY = RetryPolicy(max_attempts=4, initial=0.01, max_interval=0.05)
#: a signal wait is recorded (as its timeout timer) so a driver can see what a run waits for.
SIGNAL_TIMEOUT = 3600.0


def bump(value: int, n: int) -> int:
    return (value * 31 + n) % _MODULUS


def signal_name(k: int) -> str:
    return f"s{k}"


def update_name(k: int) -> str:
    return f"u{k}"


def signal_payload(name: str) -> int:
    return int(name[1:]) * 3 + 1


def fold(kind: str, value: int, outcome: Any) -> int:
    """The value after an op of `kind` whose await gave `outcome`."""
    if kind in ("act", "die"):
        return int(outcome)
    if kind == "sleep":
        return (value * 7 + 3) % _MODULUS
    if kind == "signal":
        return (value * 17 + int(outcome)) % _MODULUS
    if kind == "child":
        return (value * 13 + int(outcome)) % _MODULUS
    if kind == "poke":
        return (value * 11 + 5) % _MODULUS
    if kind == "update":
        return (value * 19 + 7) % _MODULUS
    raise ValueError(f"unknown op {kind!r}")


def evaluate(program: Program, value: int) -> int:
    """What `interpret` returns for `program`, computed without an engine."""
    for op in program:
        if op[0] == "can":
            continue
        parts = op[1] if op[0] == "gather" else [op]
        outcomes = [_outcome(part, value) for part in parts]
        for part, outcome in zip(parts, outcomes, strict=True):
            value = fold(part[0], value, outcome)
    return value


def _outcome(op: list[Any], value: int) -> Any:
    kind = op[0]
    if kind in ("act", "die"):
        return bump(value, op[1])
    if kind == "signal":
        return signal_payload(signal_name(op[1]))
    if kind == "child":
        return evaluate(op[1], value)
    return None


def _note(ledger: str) -> int:
    info = current_attempt()
    with open(ledger, "a") as f:
        f.write(f"{info.workflow_id} {info.run_id} {info.activity_id} {info.attempt}\n")
        f.flush()
        os.fsync(f.fileno())
    return info.attempt


@activity(executor="thread", retry=_RETRY)
def bump_thread(ledger: str, value: int, n: int) -> int:
    _note(ledger)
    return bump(value, n)


@activity(executor="process", retry=_RETRY)
def bump_process(ledger: str, value: int, n: int) -> int:
    _note(ledger)
    return bump(value, n)


@activity(executor="process", retry=_RETRY)
def bump_dies_first(ledger: str, value: int, n: int) -> int:
    if _note(ledger) == 1:
        os._exit(1)
    return bump(value, n)


def _command(ctx: WorkflowContext, ledger: str, op: list[Any], value: int) -> Any:
    kind = op[0]
    if kind == "act":
        return ctx.activity(bump_process if op[1] % 2 else bump_thread, ledger, value, op[1])
    if kind == "die":
        return ctx.activity(bump_dies_first, ledger, value, op[1])
    if kind == "sleep":
        return ctx.sleep(op[1] / 1000)
    if kind == "signal":
        return ctx.wait_signal(signal_name(op[1]), timeout=SIGNAL_TIMEOUT)
    if kind == "child":
        return ctx.child(interpret, ledger, op[1], value)
    if kind == "poke":
        return ctx.external(ctx.workflow_id).signal(f"p{op[1]}", op[1])
    if kind == "update":  # the driver's update sets `got`; the condition's timer shows the wait
        got: list[Any] = []
        ctx.on_update(update_name(op[1]), lambda payload: got.append(payload) or len(got))
        return ctx.wait_condition(lambda: bool(got), timeout=SIGNAL_TIMEOUT)
    raise ValueError(f"unknown op {kind!r}")


@workflow
async def interpret(ctx: WorkflowContext, ledger: str, program: Program, value: int) -> int:
    for index, op in enumerate(program):
        if op[0] == "can":
            ctx.continue_as_new(ledger, program[index + 1 :], value)
        if op[0] == "gather":
            commands = [_command(ctx, ledger, part, value) for part in op[1]]
            outcomes = await ctx.gather(*commands)
            for part, outcome in zip(op[1], outcomes, strict=True):
                value = fold(part[0], value, outcome)
        else:
            value = fold(op[0], value, await _command(ctx, ledger, op, value))
    return value


ALL: list[WorkflowDefinition | ActivityDefinition[Any, Any]] = [
    interpret,
    bump_thread,
    bump_process,
    bump_dies_first,
]


def kinds(program: Program) -> set[str]:
    """Every op kind in `program`, children and gathers included."""
    found: set[str] = set()
    for op in program:
        found.add(op[0])
        if op[0] in ("child", "gather"):
            found |= kinds(op[1])
    return found
