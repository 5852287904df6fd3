"""The dashboard in a real browser: Debian's chromium driven by Playwright (pointed at
that executable; no browser download). Each page is opened against a store with
completed, crashed-and-restarted, parked and running runs, a run is followed from the
list to its timeline, and screenshots are saved (to $AION_SCREENSHOTS if set, else the
test's temporary directory)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.store import LmdbStore
from aion_actors.web import store_dashboard
from tests.web import flows
from tests.web.conftest import WAIT
from tests.web.serving import served

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "no chromium on PATH: apt-get install -y chromium (.ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright drives chromium here: pip install playwright"
)

pytestmark = pytest.mark.timeout(180)
MS = int(WAIT * 1000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(MS)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("AION_SCREENSHOTS") or tmp_path / "screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where


def test_each_page_renders_and_a_run_is_followed_from_the_list_to_its_timeline(
    page: Any, data_dir: Path, shots: Path
) -> None:
    with (
        LmdbStore(data_dir, readonly=True) as store,
        served(store_dashboard(store, "orders/data")) as url,
    ):
        page.goto(url + "/")
        counts = page.locator("#counts")
        assert counts.locator('[data-status="parked"] b').inner_text() == "1"
        assert counts.locator('[data-status="running"] b').inner_text() == "1"
        assert page.locator("#runs tbody tr").count() == 8
        assert page.locator("#runs tr.restarted").count() == 2  # crashy and broken
        page.screenshot(path=str(shots / "runs.png"), full_page=True)

        page.select_option('select[name="status"]', "parked")
        page.click('form.filters button[type="submit"]')
        page.wait_for_url("**/?status=parked**")
        assert page.locator("#runs tbody tr").count() == 1

        page.goto(url + "/")
        page.click('#runs a.run-link:text-is("crashy")')
        page.wait_for_url("**/runs/crashy?run=*")
        assert page.locator("#workflow-id").inner_text() == "crashy"
        assert page.locator("#crashes").inner_text().startswith("1 crash, 1 restart")
        assert page.locator("#timeline .mark-crash").count() == 1
        assert page.locator("#timeline .mark-restart").count() == 1
        assert page.locator("#events tr.ev-RunCrashed").count() == 1
        page.screenshot(path=str(shots / "run-crashed.png"), full_page=True)

        page.goto(url + "/runs/order-ada")
        assert page.locator("#timeline .bar-retry").count() == 1
        assert page.locator("#timeline .bar-backoff").count() == 1
        page.screenshot(path=str(shots / "run-timeline.png"), full_page=True)
        page.click("#timeline a.child-link")
        page.wait_for_url("**/runs/order-ada-ship")
        assert page.locator("#workflow-id").inner_text() == "order-ada-ship"

        page.goto(url + "/supervision")
        assert page.locator('#types tr[data-type="crash_once"] td.restarts').inner_text() == "1"
        assert page.locator('#parked tr[data-workflow-id="broken"]').count() == 1
        assert page.locator("form.resume").count() == 0  # read-only
        page.screenshot(path=str(shots / "supervision.png"), full_page=True)

        page.goto(url + "/engine")
        assert page.locator("#no-engine").count() == 1
        assert page.locator("#open-runs tbody tr").count() == 2
        page.screenshot(path=str(shots / "engine.png"), full_page=True)


@pytest.fixture
def engine(data_dir: Path, tmp_path: Path) -> Iterator[Engine]:
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    flows.reset()
    with Engine.open(copy, workers=1) as opened:
        opened.register(*flows.ALL)
        yield opened


def test_a_live_page_shows_new_runs_and_resumes_a_parked_run_when_the_app_allows(
    page: Any, engine: Engine, shots: Path
) -> None:
    engine.register(flows.always_broken_fixed, replace=True)
    app = engine.dashboard_app(write_actions=True, refresh_seconds=0.3)
    with served(app) as url:
        page.goto(url + "/")
        engine.start(flows.awaits_approval, workflow_id="arrived-later")
        # auto-refresh swaps the content in without a reload
        page.wait_for_selector('#runs tr[data-workflow-id="arrived-later"]')

        page.goto(url + "/engine")
        assert int(page.locator('[data-stat="resident"] b').inner_text()) >= 1
        page.screenshot(path=str(shots / "engine-live.png"), full_page=True)

        page.goto(url + "/runs/broken")
        assert page.locator("#residency").inner_text() == "parked"
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#resume")
        page.wait_for_url("**/runs/broken")
        page.wait_for_selector("h1 .pill.st-completed")  # refreshed in place as it ends
    assert engine.describe("broken").status is WorkflowStatus.COMPLETED
