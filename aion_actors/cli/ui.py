"""`aion-actors ui DIR|URL [--port 8233]`: the live dashboard of a store, read-only, on
127.0.0.1 (see `aion_actors.web`; needs the `web` extra)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from aion_actors.cli.inspection import store_arg


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "ui",
        parents=[common],
        help="serve the live dashboard of a data directory on 127.0.0.1 (read-only)",
        description="Serve a read-only web dashboard of the store (runs, a run's timeline, "
        "supervision) on 127.0.0.1 until Ctrl-C. It opens the store read-only, so it runs "
        "beside the engine that owns it. Needs the web extra: pip install 'aion-actors[web]'.",
    )
    cmd.add_argument("dir", type=store_arg, metavar="DIR|URL")
    cmd.add_argument(
        "--port", type=int, default=8233, metavar="N", help="default 8233; 0: any free port"
    )


def run(args: argparse.Namespace, out: Console) -> int:
    from aion_actors.web.serve import serve  # the web extra is imported only here

    return serve(args.dir, args.port, out)
