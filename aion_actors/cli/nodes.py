"""`aion-actors nodes postgresql://...`: the engines sharing a PostgreSQL store as nodes, read
without joining them: each node's host, pid, heartbeat age and liveness, the partitions it
leases (count, ranges, epochs, when the leases expire) and its open runs; then the
partitions no live lease holds. See README "Running several replicas"."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from aion_actors.cli._when import UsageError
from aion_actors.cli.inspection import open_readonly, print_json, store_arg
from aion_actors.store.postgres.nodeview import ClusterView, NodeView, read_cluster, spans


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "nodes",
        parents=[common],
        help="list the nodes sharing a PostgreSQL store, their partitions and open runs",
        description="List the engines sharing a PostgreSQL store as nodes: host, pid, last "
        "heartbeat, alive or dead, the partitions each leases (count, ranges, epochs, lease "
        "expiry) and its open runs; then the partitions no live lease holds. Read-only: it "
        "works while the nodes run.",
    )
    cmd.add_argument("dir", type=store_arg, metavar="URL")
    cmd.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace, out: Console) -> int:
    return nodes(args.dir, out, as_json=args.json)


def nodes(url: Path | str, console: Console, *, as_json: bool = False) -> int:
    if not isinstance(url, str):
        raise UsageError(
            f"{url}: nodes share a PostgreSQL store; give its postgresql:// URL (a data "
            "directory belongs to one engine, which `aion-actors runs` lists)"
        )
    with open_readonly(url) as store:
        view = read_cluster(store)  # type: ignore[arg-type]  # a URL opens a PostgresStore
    if as_json:
        print_json(document(view))
        return 0
    table = Table(title=f"{len(view.nodes)} node(s)", title_justify="left")
    for column in ("node", "host", "pid", "state", "heartbeat"):
        table.add_column(column)
    for column in ("partitions", "ranges", "epochs", "lease expires in", "open runs"):
        table.add_column(column, overflow="fold", justify="right" if column != "ranges" else "left")
    for node in view.nodes:
        table.add_row(
            node.node_id,
            node.host or "-",
            "-" if node.pid is None else str(node.pid),
            Text("alive", style="green") if node.alive else Text("dead", style="red"),
            _age(node.heartbeat_age),
            _count(node),
            spans(p.partition for p in node.partitions),
            _range([p.epoch for p in node.partitions]),
            _expiry(node),
            str(node.open_runs),
        )
    console.print(table)
    free = view.unowned
    runs = sum(p.open_runs for p in free)
    console.print(
        f"{len(free)} of {len(view.partitions)} partitions held by no live lease"
        + (
            f" ({spans(p.partition for p in free)}; {runs} open runs wait for a node)"
            if free
            else ""
        ),
        highlight=False,
    )
    return 0


def document(view: ClusterView) -> dict[str, Any]:
    """The `--json` document: nodes with their partitions, then every partition."""
    return {
        "nodes": [
            {
                "node_id": n.node_id,
                "host": n.host,
                "pid": n.pid,
                "alive": n.alive,
                "heartbeat_age_s": n.heartbeat_age,
                "partitions": len([p for p in n.partitions if p.owner == n.node_id]),
                "ranges": spans(p.partition for p in n.partitions),
                "open_runs": n.open_runs,
            }
            for n in view.nodes
        ],
        "partitions": [
            {
                "partition": p.partition,
                "owner": p.owner,
                "holder": p.holder,
                "epoch": p.epoch,
                "expires_in_s": p.expires_in,
                "open_runs": p.open_runs,
            }
            for p in view.partitions
        ],
        "unowned": [p.partition for p in view.unowned],
    }


def _count(node: NodeView) -> str:
    """The partitions a node's live leases hold, and those whose lease expired unrenewed."""
    owned = sum(p.owner == node.node_id for p in node.partitions)
    expired = len(node.partitions) - owned
    return f"{owned} (+{expired} expired)" if expired else str(owned)


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s ago"


def _range(values: list[int]) -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def _expiry(node: NodeView) -> str:
    left = [p.expires_in for p in node.partitions if p.expires_in is not None]
    if not left:
        return "-"
    low, high = min(left), max(left)
    text = f"{low:.1f}s" if high - low < 0.05 else f"{low:.1f}-{high:.1f}s"
    return text if low > 0 else f"{text} (expired)"
