"""The dashboard as a Starlette app: four read-only pages, their static files, and — only
when the embedding app turns write actions on — one POST that resumes a parked run.

Page handlers are plain functions, so Starlette runs them in its thread pool: reading
the store never blocks the event loop of the service that mounts the app.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from aion_actors.core import AionError, PayloadError, WorkflowNotFound, check_id
from aion_actors.web import pages
from aion_actors.web.filters import Filters
from aion_actors.web.hosts import AllowedHosts, checked_hosts
from aion_actors.web.source import Source

_HERE: Final = Path(__file__).parent
_HEADERS: Final = {
    # the pages load only their own script and style; no other site may frame them
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _bad_id(**ids: str | None) -> str | None:
    """Why an id a request names cannot name a run (the store's own check: empty, NUL,
    too long), for a 400 page; None when each one given can."""
    try:
        for what, value in ids.items():
            if value is not None:
                check_id(value, what)
    except PayloadError as exc:
        return f"not a valid id: {exc}"
    return None


class Dashboard:
    """The pages of one source; `app` is the ASGI application."""

    def __init__(
        self,
        source: Source,
        *,
        write_actions: bool,
        refresh_seconds: float,
        allowed_hosts: Sequence[str] | None = None,
    ) -> None:
        if write_actions and not source.engine_backed:
            raise ValueError(
                "write_actions=True needs an engine (engine.dashboard_app(write_actions=True)); "
                "a dashboard on a read-only store can change nothing"
            )
        if not refresh_seconds > 0:
            raise ValueError(f"refresh_seconds must be > 0, got {refresh_seconds!r}")
        hosts = checked_hosts(allowed_hosts)
        self.source = source
        self.write_actions = write_actions
        #: a form's proof that it came from these pages (resume is a POST)
        self._token = secrets.token_urlsafe(24)
        self._templates = Jinja2Templates(directory=str(_HERE / "templates"))
        self._templates.env.globals.update(
            when=pages.when,
            write_actions=write_actions,
            refresh_ms=int(refresh_seconds * 1000),
            label=source.label,
            engine_backed=source.engine_backed,
        )
        app = Starlette(
            routes=[
                Route("/", self.runs, name="runs"),
                Route("/runs/{workflow_id:path}", self.run, name="run"),
                Route("/supervision", self.supervision, name="supervision"),
                Route("/engine", self.engine, name="engine"),
                Route("/resume", self.resume, methods=["POST"], name="resume"),
                Mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
            ],
        )
        #: the ASGI application (answering only to `allowed_hosts`, when given)
        self.app: ASGIApp = app if hosts is None else AllowedHosts(app, hosts)

    def _page(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        context = {"page": name.removesuffix(".html"), "token": self._token, **context}
        response = self._templates.TemplateResponse(
            request, name, context, status_code=status, headers=_HEADERS
        )
        return response

    def _error(self, request: Request, status: int, message: str) -> Response:
        return self._page(request, "error.html", {"message": message, "status": status}, status)

    # -- pages (run in the thread pool)

    def runs(self, request: Request) -> Response:
        try:
            filters = Filters.parse(
                request.query_params, request.query_params.getlist("attr"), time.time_ns()
            )
        except ValueError as exc:
            return self._error(request, 400, str(exc))
        return self._page(request, "runs.html", pages.runs_page(self.source, filters))

    def run(self, request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        run_id = request.query_params.get("run") or None
        if (problem := _bad_id(workflow_id=workflow_id, run=run_id)) is not None:
            return self._error(request, 400, problem)
        try:
            context = pages.run_page(self.source, workflow_id, run_id, time.time_ns())
        except WorkflowNotFound as exc:
            return self._error(request, 404, str(exc))
        return self._page(request, "run.html", context)

    def supervision(self, request: Request) -> Response:
        return self._page(request, "supervision.html", pages.supervision_page(self.source))

    def engine(self, request: Request) -> Response:
        return self._page(request, "engine.html", pages.engine_page(self.source))

    # -- the one write action

    async def resume(self, request: Request) -> Response:
        if not self.write_actions:
            return self._error(
                request, 403, "this dashboard is read-only: the app did not enable write actions"
            )
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = form.get("token", [""])[0]
        workflow_id = form.get("workflow_id", [""])[0]
        # as bytes: `compare_digest` refuses a str that is not ASCII (a 500, not a 403)
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return self._error(request, 403, "resume refused: the form did not come from here")
        if not workflow_id:
            return self._error(request, 400, "resume needs a workflow_id")
        if (problem := _bad_id(workflow_id=workflow_id)) is not None:
            return self._error(request, 400, problem)
        try:
            await run_in_threadpool(self.source.resume, workflow_id)
        except AionError as exc:  # no such run: 404; one that cannot be resumed now: 409
            status = 404 if isinstance(exc, WorkflowNotFound) else 409
            return self._error(request, status, f"resume {workflow_id!r} failed: {exc}")
        target = request.url_for("run", workflow_id=workflow_id)
        return RedirectResponse(str(target), status_code=303, headers=_HEADERS)
