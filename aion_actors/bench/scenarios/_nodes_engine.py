"""A node process of the `nodes` scenario, driven by JSON lines on stdin.

`python -m aion_actors.bench.scenarios._nodes_engine URL NODE_ID LEASE SHARE` opens the
store as node NODE_ID (lease LEASE s), prints ``{"ready": ...}`` once it holds SHARE
partitions, then answers each command line with one JSON line:

- ``{"cmd": "throughput", "runs": N, "clients": C}``: C client threads start and await
  three-activity workflows (each start gets an id in one of this node's partitions, so
  no call is forwarded) until N have completed; answers elapsed seconds;
- ``{"cmd": "hold", "runs": N, "nap": T}``: starts N `held` runs (an activity, a
  durable timer of T s, an activity) in its own partitions; answers their ids once
  every start is committed (the scenario then SIGKILLs this process);
- ``{"cmd": "await", "ids": [...], "share": S}``: waits until it holds S partitions
  (the dead node's leases expired and it took them), then for every run in `ids`;
  answers the wall-clock time (`time.time()`) the last one completed;
- ``{"cmd": "exit"}``: closes the engine (handing its partitions over) and exits.

Waits are woken, not polled: the node logs each partition it takes or gives up, and a
log handler here notifies the waiter, which then reads `engine.stats()`.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aion_actors import Engine, WorkflowContext, activity, workflow


@activity(executor="thread")
def bump(value: int) -> int:
    return value + 1


@workflow
async def three(ctx: WorkflowContext, value: int) -> int:
    for _ in range(3):
        value = await ctx.activity(bump, value)
    return value


@workflow
async def held(ctx: WorkflowContext, nap: float) -> int:
    value = await ctx.activity(bump, 0)
    await ctx.sleep(nap)
    result: int = await ctx.activity(bump, value)
    return result


class _Moves(logging.Handler):
    """Wakes waiters whenever the node logs a partition change."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.changed.notify_all()


def _holding(engine: Engine, moves: _Moves, share: int, timeout: float) -> None:
    with moves.changed:
        if not moves.changed.wait_for(lambda: engine.stats()["partitions"] == share, timeout):
            raise TimeoutError(f"holds {engine.stats()['partitions']} partitions, not {share}")


def _throughput(engine: Engine, runs: int, clients: int) -> dict[str, Any]:
    todo = iter(range(runs))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            engine.start(three, 0).result(timeout=600)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"elapsed": time.perf_counter() - began, "runs": runs}


def _hold(engine: Engine, runs: int, nap: float) -> dict[str, Any]:
    handles = engine.start_many(held, [(nap,) for _ in range(runs)])
    return {"ids": [h.workflow_id for h in handles]}


def _await(engine: Engine, moves: _Moves, ids: list[str], share: int) -> dict[str, Any]:
    _holding(engine, moves, share, 600)
    took = time.time()
    with ThreadPoolExecutor(16) as waiters:
        list(waiters.map(lambda w: engine.result(w, timeout=600), ids))
    return {"took_at": took, "done_at": time.time()}


def main() -> None:
    url, node_id, lease, share = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    moves = _Moves()
    logging.getLogger("aion_actors.nodes").addHandler(moves)
    logging.getLogger("aion_actors.nodes").setLevel(logging.INFO)
    renew = lease / 4
    with Engine.open(url, workers=1, node_id=node_id, lease=lease, renew_every=renew) as engine:
        engine.register(three, held, bump)
        _holding(engine, moves, share, 120)
        engine.start(three, 0).result(timeout=60)  # warm: executor threads, code paths
        print(json.dumps({"ready": node_id}), flush=True)
        for line in sys.stdin:
            order = json.loads(line)
            if order["cmd"] == "exit":
                break
            if order["cmd"] == "throughput":
                answer = _throughput(engine, order["runs"], order["clients"])
            elif order["cmd"] == "hold":
                answer = _hold(engine, order["runs"], order["nap"])
            else:
                answer = _await(engine, moves, order["ids"], order["share"])
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
