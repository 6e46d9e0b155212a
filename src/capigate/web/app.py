"""``create_app(settings)``: the gateway's ASGI app, its lifespan and its OpenAPI document."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from capigate import __version__
from capigate.clock import Clock, system_clock
from capigate.emulator.app import create_app as create_emulator
from capigate.emulator.connection import RAW_SEND_KEY
from capigate.housekeeping import job as housekeeping
from capigate.ingest import Ingestor
from capigate.plan.load import default_plan, load_file
from capigate.plan.model import Plan
from capigate.settings import Settings
from capigate.sources import SourceRegistry
from capigate.store import Store, open_store
from capigate.web import api, direct, snippet
from capigate.web.gateway import SANDBOX_NOTE, Gateway
from capigate.web.metrics import Metrics
from capigate.web.problems import Problem
from capigate.web.schemas import IngestBatch, IngestEvent, ProblemDocument
from capigate.web.webhooks import router as webhook_router
from capigate.worker.service import serve_delivery

EMULATOR_PATH = "/__emulator__"
CORS_HEADERS = ["content-type", api.KEY_HEADER, api.INIT_DATA_HEADER]
CORS_MAX_AGE_S = 600
# Allocations between two young-generation collections while serving (CPython's default: 700).
# A 100-event batch keeps thousands of objects alive until it is answered, so the default ran
# a collection every request or two, each walking the batches in flight.
SERVING_GC_YOUNG_ALLOCATIONS = 7000
log = logging.getLogger("capigate.web")


class GatewayApp(FastAPI):
    """FastAPI that keeps the server's own ``send``, so the mounted emulator can drop sockets,
    and hands ingest POSTs straight to their endpoint (``web.direct``)."""

    cors_origins: frozenset[str] | None = None  # browser sources: the CORS middleware's origins
    direct = False  # set at start-up unless FastAPI's OpenTelemetry instrumentation is on

    @property
    def cors(self) -> bool:
        """Whether the CORS middleware is installed (there are browser sources)."""
        return self.cors_origins is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault(RAW_SEND_KEY, send)
            if self.direct and direct.takes(scope):
                await direct.serve(self, scope, receive, send, cors=self.cors_origins)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock = system_clock,
    plan: Plan | None = None,
    serving: bool = False,
) -> FastAPI:
    """The gateway app. Without ``store`` it opens ``settings.db_url`` at start-up (and closes
    it at shutdown); either way it applies pending migrations before serving. ``serving`` (the
    app owns its process: ``capigate serve``) tunes the garbage collector once started up."""
    plan = plan or (load_file(settings.plan_path) if settings.plan_path else default_plan())
    registry = SourceRegistry(settings.sources)
    metrics = Metrics()
    emulator = create_emulator(clock=clock) if settings.sandbox else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = store or open_store(settings.db_url, clock=clock)
        await active.migrate()
        ingestor = Ingestor(plan=plan, store=active, settings=settings)
        app.state.gateway = Gateway(settings, active, registry, ingestor, metrics, clock)
        if isinstance(app, GatewayApp):
            app.direct = not app.root_path and not direct.telemetry_enabled(app)
        if settings.sandbox:
            log.warning("SANDBOX MODE", extra={"fields": {"note": SANDBOX_NOTE}})
        log.info("gateway ready", extra={"fields": _startup_fields(settings, plan)})
        if serving:
            tune_gc_for_serving()
        try:
            delivery = serve_delivery(
                settings, active, clock=clock, sandbox_app=emulator, lifecycle=ingestor.lifecycle
            )
            async with delivery as w, housekeeping.running(settings, active, clock=clock):
                app.state.gateway.worker = w
                yield
        finally:
            if store is None:
                await active.close()

    app = GatewayApp(
        title="capigate",
        version=__version__,
        description=_description(settings),
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.include_router(api.ingest_router)
    app.include_router(api.router)
    app.include_router(webhook_router)
    app.include_router(snippet.router)
    app.add_exception_handler(HTTPException, _http_problem)
    app.add_exception_handler(Exception, _internal_problem)
    origins = sorted({o for s in settings.sources if s.is_browser for o in s.origins})
    if origins:
        app.cors_origins = frozenset(origins)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=CORS_HEADERS,
            max_age=CORS_MAX_AGE_S,
        )
    if emulator is not None:
        app.mount(EMULATOR_PATH, emulator)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The app for one of several ``capigate serve --workers N`` processes.

    Each worker process rebuilds the same settings from the environment that ``serve`` set
    (``CAPIGATE_CONFIG``, ``CAPIGATE_HOST``, ``CAPIGATE_PORT``, ``CAPIGATE_DB``).
    """
    from capigate import logs
    from capigate.settings import load

    settings = load()
    logs.configure(settings.log_level)
    return create_app(settings, serving=True)


def tune_gc_for_serving() -> None:
    """Freeze the start-up heap (FastAPI, models, plan: never garbage) so that full collections
    stop walking it, and collect the young generation less often (``SERVING_GC_YOUNG_ALLOCATIONS``).
    Request objects are freed by reference counting either way; only cycles wait longer."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(SERVING_GC_YOUNG_ALLOCATIONS, middle, old)


def _description(settings: Settings) -> str:
    text = "Self-hosted Meta Conversions API gateway."
    if settings.sandbox:
        text += f" **SANDBOX MODE**: no Meta access token; events go to `{EMULATOR_PATH}`."
    return text


def _startup_fields(settings: Settings, plan: Plan) -> dict[str, Any]:
    return {
        "sandbox": settings.sandbox,
        "sources": [s.name for s in settings.sources],
        "pixels": [p.id for p in settings.pixels],
        "plan": plan.name,
        "plan_keys": len(plan.events),
    }


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "invalid-request")
    detail = f"{request.method} {request.url.path}: {exc.detail}"
    return Problem(exc.status_code, kind, detail).response(exc.headers)


async def _internal_problem(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"fields": {"path": request.url.path}})
    return Problem(500, "internal-error", "An internal error occurred; it was logged.").response()


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema(
            [(m, "validation") for m in (IngestEvent, IngestBatch, ProblemDocument)],
            ref_template="#/components/schemas/{model}",
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
        app.openapi_schema = schema
    return app.openapi_schema
