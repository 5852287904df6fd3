"""The dashboard's pages, served by uvicorn and read over HTTP: what each shows of a
store with completed, crashed-and-restarted, parked and running runs, and that nothing
changes a run unless the embedding app turns write actions on."""

from __future__ import annotations

import html as html_text
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aion_actors import Engine, WorkflowStatus
from aion_actors.store import LmdbStore
from aion_actors.web import store_dashboard
from aion_actors.web.app import Dashboard
from aion_actors.web.source import Source
from tests.web import flows
from tests.web.conftest import WAIT
from tests.web.serving import served

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def store(data_dir: Path) -> Iterator[LmdbStore]:
    with LmdbStore(data_dir, readonly=True) as opened:
        yield opened


@pytest.fixture(scope="module")
def client(store: LmdbStore) -> Iterator[httpx.Client]:
    with (
        served(store_dashboard(store, str(store.path))) as url,
        httpx.Client(base_url=url, timeout=WAIT) as http,
    ):
        yield http


@pytest.fixture
def engine(data_dir: Path, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a copy of the data directory (the shared one stays as it was)."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    flows.reset()
    with Engine.open(copy, workers=1) as opened:
        opened.register(*flows.ALL)
        yield opened


def _text(html: str) -> str:
    """The page's words, tags dropped, spaces folded."""
    return html_text.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-workflow-id="([^"]+)"', html)


def test_runs_page_counts_each_status_and_lists_every_run_newest_first(
    client: httpx.Client,
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = _text(page.text)
    assert "8 runs" in text and "1 running" in text and "1 parked" in text
    assert "6 completed" in text
    ids = _ids(page.text)
    assert set(ids) == {"order-ada", "order-ada-ship", "crashy", "broken", "waiting"} | {
        f"bulk-{i}" for i in range(3)
    }
    assert ids.index("bulk-0") < ids.index("crashy") < ids.index("order-ada")  # newest first


def test_runs_page_filters_by_status_type_attribute_and_start_range(
    client: httpx.Client,
) -> None:
    assert _ids(client.get("/?status=parked").text) == ["broken"]
    assert _ids(client.get("/?status=running").text) == ["waiting"]
    assert set(_ids(client.get("/?type=awaits_approval&status=completed").text)) == {
        "bulk-0",
        "bulk-1",
        "bulk-2",
    }
    assert _ids(client.get("/?attr=customer%3Dada").text) == ["order-ada"]
    assert _ids(client.get("/?since=2000-01-01&until=2000-01-02").text) == []
    assert len(_ids(client.get("/?since=1h").text)) == 8


def test_runs_pages_with_the_cursor_and_never_repeats_a_run(client: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = "/?limit=3"
    while url is not None:
        page = client.get(url).text
        seen += _ids(page)
        older = re.search(r'href="(\?[^"]*cursor=[^"]*)" id="older"', page)
        url = "/" + older.group(1).replace("&amp;", "&") if older else None
        assert len(seen) <= 8, "pages repeat runs"
    assert len(seen) == 8 == len(set(seen))


@pytest.mark.parametrize(
    ("query", "named"),
    [("status=lost", "status 'lost'"), ("since=yesterday", "since 'yesterday'"),
     ("cursor=forged", "cursor"), ("limit=0", "limit '0'"), ("attr=nameonly", "NAME=VALUE"),
     ("since=0001-01-01", "since '0001-01-01': not a time from 1970-01-01"),
     ("until=9999-12-31", "until '9999-12-31': not a time from 1970-01-01")],
)  # fmt: skip
def test_a_bad_filter_is_a_400_naming_it(client: httpx.Client, query: str, named: str) -> None:
    page = client.get(f"/?{query}")
    assert page.status_code == 400
    assert named in _text(page.text)


def test_run_page_draws_attempts_retries_timers_signals_and_links_the_child(
    client: httpx.Client,
) -> None:
    page = client.get("/runs/order-ada")
    assert page.status_code == 200
    html, text = page.text, _text(page.text)
    assert "#3 charge" in text and "bar-retry" in html and "bar-backoff" in html
    assert "1 failed activity attempt, retried" in text
    assert "timer sleep:" in text and "signal 'approve' timeout" in text
    assert 'class="mark mark-signal"' in html
    assert re.search(r'class="child-link" href="[^"]*/runs/order-ada-ship"', html)
    assert "WorkflowCompleted" in text and 'result "ok: reserved box for ada"' in text
    assert "customer=ada" in text
    child = client.get("/runs/order-ada-ship").text
    assert re.search(r'href="[^"]*/runs/order-ada\?run=', child), "the child links its parent"


def test_crashes_and_restarts_are_highlighted_on_the_timeline(client: httpx.Client) -> None:
    html = client.get("/runs/crashy").text
    assert "1 crash, 1 restart by replay" in _text(html)
    assert html.count('class="mark mark-crash"') == 1
    assert html.count('class="mark mark-restart"') == 1
    assert 'class="ev-RunCrashed red"' in html


def test_the_current_stage_names_what_an_open_run_waits_for(client: httpx.Client) -> None:
    text = _text(client.get("/runs/waiting").text)
    assert "running: waits for" in text and "signal 'approve'" in text
    parked = _text(client.get("/runs/broken").text)
    assert "parked: waits for an operator" in parked and "always broken" in parked


def test_a_read_only_dashboard_has_no_resume_button_and_refuses_resume_posts(
    client: httpx.Client, store: LmdbStore
) -> None:
    for url in ("/runs/broken", "/supervision"):
        page = client.get(url).text
        assert "Resume</button>" not in page and 'method="post"' not in page
    refused = client.post("/resume", data={"workflow_id": "broken", "token": "x"})
    assert refused.status_code == 403 and "read-only" in refused.text
    assert store.latest_run("broken").status is WorkflowStatus.PARKED  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="write_actions=True needs an engine"):
        Dashboard(Source(store, "x"), write_actions=True, refresh_seconds=5)


def test_an_unknown_workflow_is_a_404_naming_it(client: httpx.Client) -> None:
    page = client.get("/runs/no-such-order")
    assert page.status_code == 404 and "no-such-order" in page.text


@pytest.mark.parametrize(
    ("url", "named"),
    [("/runs/", "workflow_id: must not be empty"),
     ("/runs/a%00b", "workflow_id: must not contain NUL"),
     ("/runs/" + "x" * 600, "workflow_id: is longer than"),
     ("/runs/order-ada?run=a%00b", "run: must not contain NUL")],
)  # fmt: skip
def test_an_id_no_run_can_have_is_a_400_page_naming_it(
    client: httpx.Client, url: str, named: str
) -> None:
    page = client.get(url)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert named in _text(page.text) and "Back to the runs" in page.text


def test_supervision_counts_restarts_per_type_and_lists_parked_runs(client: httpx.Client) -> None:
    html = client.get("/supervision").text
    row = re.search(r'<tr data-type="crash_once">(.*?)</tr>', html, re.S)
    assert row is not None and re.findall(r">(\d+(?:\.\d+)?)<", row.group(1)) == [
        "1", "0", "0", "0", "1", "1", "100.0",
    ]  # fmt: skip
    parked = re.search(r'<table id="parked">(.*?)</table>', html, re.S)
    assert parked is not None and 'data-workflow-id="broken"' in parked.group(1)
    assert "always broken" in parked.group(1) and "Resume</button>" not in parked.group(1)


def test_the_engine_page_of_a_store_says_counters_need_an_engine(client: httpx.Client) -> None:
    html = client.get("/engine").text
    assert 'id="no-engine"' in html
    open_runs = re.search(r'<table id="open-runs">(.*?)</table>', html, re.S)
    assert open_runs is not None
    assert set(re.findall(r'data-workflow-id="([^"]+)"', open_runs.group(1))) == {
        "broken",
        "waiting",
    }


def test_an_engine_dashboard_shows_pid_residency_and_stats(engine: Engine) -> None:
    with served(engine.dashboard_app()) as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        described = engine.describe("waiting")
        run = http.get("/runs/waiting").text
        assert f'<dd id="residency">{described.residency}</dd>' in run
        stats = http.get("/engine").text
        assert 'data-stat="resident"' in stats and 'data-stat="crashes"' in stats
        assert 'data-stat="commit_p50_us"' in stats and 'data-stat="commit_batch_p50"' in stats
        assert 'id="no-engine"' not in stats
        assert "Resume</button>" not in http.get("/runs/broken").text
        refused = http.post("/resume", data={"workflow_id": "broken", "token": "x"})
        assert refused.status_code == 403
    assert engine.describe("broken").status is WorkflowStatus.PARKED


def test_resume_needs_write_actions_and_this_dashboards_form(engine: Engine) -> None:
    engine.register(flows.always_broken_fixed, replace=True)
    app = engine.dashboard_app(write_actions=True)
    with served(app) as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        page = http.get("/runs/broken").text
        assert "Resume</button>" in page
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token is not None
        forged = http.post("/resume", data={"workflow_id": "broken", "token": "guess"})
        assert forged.status_code == 403
        for odd in ("\u00e9", "\u00e9" * 32, "\U0001f600"):  # not ASCII: refused as any
            refused = http.post("/resume", data={"workflow_id": "broken", "token": odd})
            assert refused.status_code == 403 and "did not come from here" in refused.text
        bad = http.post("/resume", data={"workflow_id": "a\x00b", "token": token.group(1)})
        assert bad.status_code == 400 and "workflow_id: must not contain NUL" in bad.text
        assert engine.describe("broken").status is WorkflowStatus.PARKED
        done = http.post("/resume", data={"workflow_id": "broken", "token": token.group(1)})
        assert done.status_code == 303 and done.headers["location"].endswith("/runs/broken")
        assert engine.result("broken", timeout=WAIT) == "reserved broken"  # replayed
        again = http.post("/resume", data={"workflow_id": "broken", "token": token.group(1)})
        assert again.status_code == 409 and "not parked" in again.text
        unknown = http.post("/resume", data={"workflow_id": "nope", "token": token.group(1)})
        assert unknown.status_code == 404 and "not found" in unknown.text


def test_a_mounted_dashboard_answers_only_its_allowed_hosts(engine: Engine) -> None:
    with served(engine.dashboard_app()) as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        assert http.get("/", headers={"Host": "any.example"}).status_code == 200  # (default)
    app = engine.dashboard_app(allowed_hosts=["ops.example.com", "*.internal", "[::1]"])
    with served(app) as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        for host in ("ops.example.com", "OPS.example.com:8443", "a.b.internal", "[::1]:80"):
            assert http.get("/runs/crashy", headers={"Host": host}).status_code == 200, host
        for host in ("127.0.0.1", "evil.example", "internal", "ops.example.com.evil", "::1"):
            refused = http.get("/runs/crashy", headers={"Host": host})
            assert refused.status_code == 400 and "allowed_hosts" in refused.text, host


@pytest.mark.parametrize("hosts", ["localhost", [], ["localhost:8233"], ["a.*.com"], [""], [3]])
def test_allowed_hosts_must_be_host_names(engine: Engine, hosts: object) -> None:
    with pytest.raises(ValueError, match="allowed_hosts"):
        engine.dashboard_app(allowed_hosts=hosts)  # type: ignore[arg-type]


def test_an_unknown_dashboard_option_is_a_type_error_naming_it(engine: Engine) -> None:
    with pytest.raises(TypeError, match="allowed_host"):
        engine.dashboard_app(allowed_host=["localhost"])  # type: ignore[call-arg]


def test_the_dashboard_mounts_under_a_service_path(engine: Engine) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    service = Starlette(routes=[Mount("/ops/aion", app=engine.dashboard_app())])
    with served(service) as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        page = http.get("/ops/aion/")
        assert page.status_code == 200
        assert f'href="{url}/ops/aion/runs/crashy?run=' in page.text
        assert f'href="{url}/ops/aion/static/dashboard.css"' in page.text
        assert http.get("/ops/aion/static/dashboard.js").status_code == 200
        assert http.get("/ops/aion/runs/crashy").status_code == 200
