"""``throughput``'s ``async`` client: asyncio tasks on one loop drive the same workflows
as the ``threads`` client, and are reported beside it, labelled ``client=async``."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors.bench.scenarios import throughput


@pytest.mark.timeout(120)
def test_the_async_client_completes_every_run_once(tmp_path: Path) -> None:
    rate, latencies, cpu_us = throughput.measure_with_asyncio(
        tmp_path / "data", throughput.three_thread, runs=60, inflight=16, workers=1
    )
    assert len(latencies) == 60 and rate > 0 and cpu_us > 0


@pytest.mark.timeout(180)
def test_throughput_reports_the_async_client_beside_the_threads_client(tmp_path: Path) -> None:
    params = {
        "runs": 20,
        "inflight": 8,
        "workers": 1,
        "executors": ["thread"],
        "clients": ["threads", "async"],
        "store": "lmdb",
        "url": "",
    }
    report = throughput.run(params)
    clients = {f.labels.get("client") for f in report.figures if f.name == "workflows_per_s"}
    assert clients == {"threads", "async"}
