"""``POST /webhooks/{provider}``: signed payment webhooks from the merchant's billing backend.

The router's lifespan (nested in the app's) builds the ``WebhookIngestor`` from the plan's
``webhooks:`` section and the secrets the settings read, once the gateway is up. Every refusal
is a problem document: 404 unknown provider, 401 bad or stale signature (``reason`` says
which), 409 a replayed signature, 400 not JSON, 413 too large, 422 a missing or bad mapped
field (named by its path in the payload) or events the plan refuses, 503 store unavailable.
Success is 200 with the outcome, only after the events are durably stored.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from capigate.errors import AuthError, StoreError
from capigate.ingest import EventResult, NotAllowed, Rejected
from capigate.web import body, webhook_docs
from capigate.web.gateway import Gateway
from capigate.web.problems import Problem, Refused, finding_dict, invalid_events
from capigate.webhook_ingest import (
    Handled,
    MalformedBody,
    Replayed,
    UnknownProvider,
    UnmappedPayload,
    WebhookIngestor,
    providers_from,
)
from capigate.webhooks.signature import SIGNATURE_HEADER, SignatureError

WEBHOOK_PATH = "/webhooks/{provider}"
UNKNOWN_LABEL = "unknown"
CHALLENGE = {
    "WWW-Authenticate": f'Signature realm="capigate-webhooks", header="{SIGNATURE_HEADER}"'
}
log = logging.getLogger("capigate.webhooks")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    gateway: Gateway = app.state.gateway
    providers = providers_from(gateway.ingestor.plan, gateway.settings.secrets.get)
    app.state.webhooks = WebhookIngestor(providers, store=gateway.store, ingestor=gateway.ingestor)
    if providers:
        log.info("webhook providers ready", extra={"fields": {"providers": sorted(providers)}})
    yield


router = APIRouter(lifespan=_lifespan)


@router.post(
    WEBHOOK_PATH,
    summary="A signed payment webhook from the billing backend",
    description=(
        f"Sign the raw body: `{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex>` with "
        "`hex = HMAC-SHA256(secret, t + '.' + body)`, a fresh `t` for every attempt. The "
        "plan's `webhooks:` section maps the payload. Idempotent per transaction id: a repeat "
        "answers 200 `duplicate`. Answers only after the events are durably stored."
    ),
    responses=webhook_docs.WEBHOOK_RESPONSES,
    openapi_extra=webhook_docs.WEBHOOK_BODY,
    tags=["webhooks"],
)
async def webhook(provider: str, request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    service: WebhookIngestor = request.app.state.webhooks
    try:
        limit = gateway.settings.max_body_bytes
        raw = await body.read_body(request.receive, limit, request.headers)
        header = request.headers.get(SIGNATURE_HEADER)
        handled = await service.handle(provider, raw, header, now_s=gateway.clock())
    except Refused as refused:
        return _refused(gateway, _label(service, provider), refused.problem, refused.reason)
    except Exception as exc:
        problem = _problem(exc, gateway.settings.backpressure_retry_after_s)
        if problem is None:
            raise
        return _refused(gateway, _label(service, provider), problem, problem.kind)
    gateway.metrics.inc("capigate_webhooks_total", provider=provider, status=handled.status)
    return Response(orjson.dumps(_handled_dict(handled)), media_type="application/json")


_PLAIN: tuple[tuple[type[Exception], int, str], ...] = (
    (UnknownProvider, 404, "not-found"),
    (Replayed, 409, "replayed-signature"),
    (MalformedBody, 400, "malformed-json"),
)


def _problem(exc: Exception, retry_after_s: int) -> Problem | None:
    """The problem document for a refusal the webhook use case raised (None: not one)."""
    for kind, status, name in _PLAIN:
        if isinstance(exc, kind):
            return Problem(status, name, str(exc))
    if isinstance(exc, SignatureError):
        return Problem(401, "bad-signature", str(exc), extensions={"reason": exc.reason})
    if isinstance(exc, UnmappedPayload | Rejected):
        return _invalid(exc)
    if isinstance(exc, AuthError):
        findings = exc.findings if isinstance(exc, NotAllowed) else ()
        return Problem(exc.status, "forbidden", str(exc), findings)
    if isinstance(exc, StoreError):
        log.exception("store failed during a webhook")
        detail = "The store is unavailable; retry later."
        return Problem(503, "store-unavailable", detail, retry_after_s=retry_after_s)
    return None


def _invalid(exc: UnmappedPayload | Rejected) -> Problem:
    """422: mapped fields of the payload, or the plan's verdict on the events it became."""
    if isinstance(exc, Rejected):
        return invalid_events(exc.findings, exc.valid_keys)
    return Problem(422, "invalid-request", str(exc), exc.findings)


def _label(service: WebhookIngestor, provider: str) -> str:
    """The provider as a metric label: URL text only when it names a configured provider."""
    return provider if provider in service.providers else UNKNOWN_LABEL


def _refused(gateway: Gateway, provider: str, problem: Problem, reason: str) -> Response:
    gateway.metrics.inc("capigate_webhooks_refused_total", provider=provider, reason=reason)
    fields = {"provider": provider, "status": problem.status, "reason": reason}
    log.info("webhook refused", extra={"fields": fields})
    return problem.response(CHALLENGE if problem.status == 401 else None)


def _handled_dict(handled: Handled) -> dict[str, Any]:
    return {
        "provider": handled.provider,
        "status": handled.status,
        "transaction_id": handled.transaction_id,
        "event_type": handled.event_type,
        "outcome": handled.outcome,
        "plan_key": handled.plan_key,
        "note": handled.note,
        "events": [_event_dict(result) for result in handled.events],
    }


def _event_dict(result: EventResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "event_id": result.event_id,
        "event_name": result.event_name,
        "warnings": [finding_dict(w) for w in result.warnings],
    }
