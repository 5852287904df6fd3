"""The run page of a Postgres-backed dashboard names the node that owns the run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aion_actors import Engine
from aion_actors.store.postgres import PostgresStore, partition_of
from aion_actors.web import store_dashboard
from tests.nodes import flows
from tests.web.conftest import WAIT
from tests.web.serving import served


@pytest.mark.timeout(120)
def test_the_run_page_of_a_postgres_store_names_the_runs_owner_node_and_partition(
    pg_url: str, tmp_path: Path
) -> None:
    with Engine.open(pg_url, workers=1, node_id="solo", lease=2.0, renew_every=0.5) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.chain, str(tmp_path / "l"), 0.0, 3600.0, workflow_id="w")
        with served(engine.dashboard_app()) as url, httpx.Client(base_url=url, timeout=WAIT) as h:
            page = h.get("/runs/w").text
        assert '<dd id="owner">solo <span class="dim">partition ' in page
        assert f"partition {partition_of('w', 64)}</span>" in page
        with (
            PostgresStore(pg_url, readonly=True, pool_size=1) as store,
            served(store_dashboard(store, "pg")) as url,
            httpx.Client(base_url=url, timeout=WAIT) as h,
        ):
            assert '<dd id="owner">solo ' in h.get("/runs/w").text
    with (
        PostgresStore(pg_url, readonly=True, pool_size=1) as store,
        served(store_dashboard(store, "pg")) as url,
        httpx.Client(base_url=url, timeout=WAIT) as h,
    ):  # the node left: its leases were released, no node holds the run's partition
        assert "none: no live lease holds its partition" in h.get("/runs/w").text
