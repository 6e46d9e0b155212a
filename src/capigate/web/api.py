"""HTTP routes: ``POST /api/marketing/meta``, ``/healthz``, ``/readyz``, ``/metrics``.

The ingest route reads and parses its body itself (size-limited stream, orjson) so that every
refusal is a problem document and nothing a client sends can cause a 500. Order of checks:
key (401/403), outbox high-water mark (503), size (413), JSON (400), shape (422), browser
rate (429), events (422/403), then the store; 202 only after the store committed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope

from capigate import enrich
from capigate.errors import AuthError, StoreError
from capigate.ingest import Caller, EventResult, NotAllowed, Rejected
from capigate.sources import Source
from capigate.web import body, examples
from capigate.web.answer import Answer
from capigate.web.gateway import Gateway
from capigate.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from capigate.web.problems import Problem, Refused, finding_dict, invalid_events
from capigate.web.schemas import Health, Readiness

INGEST_PATH = "/api/marketing/meta"
KEY_HEADER = "x-capigate-key"
INIT_DATA_HEADER = "x-telegram-init-data"
FORWARDED_HEADER = "x-forwarded-for"
log = logging.getLogger("capigate.ingest")


class PlainRoute(APIRoute):
    """An APIRoute documented like any other but called as ``endpoint(request)``.

    The ingest endpoint reads and checks its own body, so FastAPI's per-request dependency
    solving and validation would only cost time on the hottest path.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            response: Response = await endpoint(request)
            return response

        return handler


ingest_router = APIRouter(route_class=PlainRoute)
router = APIRouter()


@ingest_router.post(
    INGEST_PATH,
    status_code=202,
    summary="Ingest one event or a batch of up to 1,000",
    description=(
        "Authenticate with `Authorization: Bearer <server key>`, or a browser key in "
        "`X-Capigate-Key` (or `?key=`). All or nothing: one invalid event refuses the batch "
        "and nothing is stored. Answers 202 only after the events are durably stored."
    ),
    responses=examples.INGEST_RESPONSES,
    openapi_extra=examples.INGEST_BODY,
    tags=["ingest"],
)
async def ingest(request: Request) -> Response:
    return (await answer(request.app.state.gateway, request.scope, request.receive)).response()


async def answer(gateway: Gateway, scope: Scope, receive: Receive) -> Answer:
    """The ingest route's answer to one request: 202 with results, or a problem document."""
    try:
        results, source = await _ingest(gateway, scope, receive)
    except Refused as refused:
        gateway.ingest_rejected.inc(refused.reason)
        gateway.ingest_requests.inc(str(refused.problem.status))
        log.info("ingest refused", extra={"fields": _refusal_fields(refused)})
        return refused.problem.answer()
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    for status, count in counts.items():
        gateway.ingest_events.inc(source.name, status, amount=count)
    gateway.ingest_requests.inc("202")
    return Answer(202, orjson.dumps({"results": [_result_dict(r) for r in results]}))


async def _ingest(
    gateway: Gateway, scope: Scope, receive: Receive
) -> tuple[list[EventResult], Source]:
    headers = body.header_map(scope)  # decoded once, not on every lookup
    peer = _peer(scope)
    source = _authenticate(gateway, scope, headers, peer)
    await _check_backpressure(gateway)
    raw = await body.read_body(receive, gateway.settings.max_body_bytes, headers)
    items, prefix = body.items(body.parse(raw))
    needs_ip = source.is_browser or source.request_context  # rate limit, enrichment
    client_ip = _client_ip(gateway, scope, headers, peer) if needs_ip else None
    now_s = gateway.clock()
    wait_s = gateway.registry.rate_limit(source, client_ip, now_s, len(items))
    if wait_s > 0:
        retry = max(1, math.ceil(wait_s))
        detail = f"Too many events from this IP for source {source.name!r}; retry in {retry} s."
        raise Refused(Problem(429, "rate-limited", detail, retry_after_s=retry), "rate_limited")
    caller = Caller(
        source,
        _facts(headers, client_ip) if source.request_context else None,
        headers.get(INIT_DATA_HEADER),
    )
    try:
        results = await gateway.ingestor.ingest(items, prefix=prefix, caller=caller, now_s=now_s)
    except Rejected as exc:
        raise Refused(invalid_events(exc.findings, exc.valid_keys), "invalid") from None
    except NotAllowed as exc:
        problem = Problem(403, "forbidden", str(exc), exc.findings)
        raise Refused(problem, "forbidden") from None
    except AuthError as exc:
        raise Refused(Problem(exc.status, "forbidden", str(exc)), "forbidden") from None
    except StoreError:
        log.exception("store failed during ingest")
        retry = gateway.settings.backpressure_retry_after_s
        problem = Problem(
            503, "store-unavailable", "The store is unavailable; retry later.", retry_after_s=retry
        )
        raise Refused(problem, "store_unavailable") from None
    return results, source


def _authenticate(
    gateway: Gateway, scope: Scope, headers: Mapping[str, str], peer: str | None
) -> Source:
    authorization = headers.get("authorization")
    bearer = None
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(
                Problem(401, "unauthorized", "Authorization must be 'Bearer <server key>'."),
                "unauthorized",
            )
        bearer = token.strip()
    public_key = None
    if bearer is None:
        public_key = headers.get(KEY_HEADER) or QueryParams(scope["query_string"]).get("key")
    try:
        return gateway.registry.authenticate(
            bearer=bearer, public_key=public_key, origin=headers.get("origin"), peer_ip=peer
        )
    except AuthError as exc:
        kind = "unauthorized" if exc.status == 401 else "forbidden"
        raise Refused(Problem(exc.status, kind, str(exc)), kind) from None


async def _check_backpressure(gateway: Gateway) -> None:
    retry = gateway.settings.backpressure_retry_after_s
    try:
        depth = await gateway.store.outbox_depth()
    except StoreError:
        log.exception("store unreachable")
        problem = Problem(
            503, "store-unavailable", "The store is unavailable; retry later.", retry_after_s=retry
        )
        raise Refused(problem, "store_unavailable") from None
    high_water = gateway.settings.outbox_high_water
    if depth >= high_water:
        detail = f"The outbox holds {depth} events (high-water mark {high_water}); retry later."
        raise Refused(Problem(503, "backpressure", detail, retry_after_s=retry), "backpressure")


def _client_ip(
    gateway: Gateway, scope: Scope, headers: Mapping[str, str], peer: str | None
) -> str | None:
    forwarded = None
    if FORWARDED_HEADER in headers:  # every X-Forwarded-For line, joined
        forwarded = ",".join(body.header_values(scope, FORWARDED_HEADER)) or None
    return enrich.client_ip(peer, forwarded, gateway.settings.trusted_proxies)


def _peer(scope: Scope) -> str | None:
    """The socket's remote address (``request.client`` builds a new tuple on every read)."""
    client = scope.get("client")
    return client[0] if client else None


def _facts(headers: Mapping[str, str], client_ip: str | None) -> enrich.RequestFacts:
    fbp, fbc = enrich.meta_cookies(headers.get("cookie"))
    return enrich.RequestFacts(client_ip, headers.get("user-agent"), fbp, fbc)


def _result_dict(result: EventResult) -> dict[str, Any]:
    out = {
        "index": result.index,
        "status": result.status,
        "event_id": result.event_id,
        "event_name": result.event_name,
        "warnings": [finding_dict(w) for w in result.warnings] if result.warnings else [],
    }
    if result.derived:
        out["derived"] = [_derived_dict(*d) for d in result.derived]
    return out


def _derived_dict(event_name: str, event_id: str, status: str) -> dict[str, str]:
    return {"event_name": event_name, "event_id": event_id, "status": status}


def _refusal_fields(refused: Refused) -> dict[str, Any]:
    """Log fields of a refusal: status, reason and rule slugs; never values or messages."""
    fields: dict[str, Any] = {"status": refused.problem.status, "reason": refused.reason}
    if refused.problem.errors:
        fields["rules"] = sorted({f"{f.path}:{f.rule}" for f in refused.problem.errors})[:20]
    return fields


@router.get(
    "/healthz",
    summary="The process is up",
    response_model=Health,
    responses={200: {"content": {"application/json": {"examples": examples.HEALTH}}}},
    tags=["operations"],
)
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    summary="Ready for traffic: store reachable, outbox below its high-water mark",
    response_model=Readiness,
    responses={
        200: {"content": {"application/json": {"examples": examples.READY}}},
        503: {
            "model": Readiness,
            "description": "Not ready",
            "content": {"application/json": {"examples": examples.NOT_READY}},
        },
    },
    tags=["operations"],
)
async def readyz(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    report = await gateway.readiness()
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"example": examples.METRICS}}}},
    tags=["operations"],
)
async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    await gateway.refresh_gauges()
    return Response(gateway.metrics.render(), media_type=METRICS_CONTENT_TYPE)
