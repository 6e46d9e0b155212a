"""The webhook use case: verify, map, decide, claim, ingest, complete.

``handle`` runs one signed request of a provider, in this order:

1. the provider exists and has its secret (else ``UnknownProvider``, 404);
2. the capigate signature and its timestamp (``SignatureError``, 401), then the body as JSON
   (``MalformedBody``, 400) and, for Atmos, the callback's own ``sign`` (401/422);
3. the payload mapping (``UnmappedPayload``, 422 naming the payload's paths; an event type
   the provider does not map is answered ``ignored``);
4. the signature is remembered until it leaves the tolerance (``Replayed``, 409, when it was
   seen already: the first request with it was accepted; sign each attempt anew);
5. the transaction: done already -> ``duplicate``; pending (a crash or a concurrent request
   between claim and completion) -> its recorded events are sent again and it is completed;
   new -> the user's subscription decides the outcome, ``claim_payment`` saves the state and
   records the transaction, the events go through the ``Ingestor`` exactly like any source's
   (plan, enrichment, pipeline, dedup), and ``complete_payment`` marks it done.

It answers only after the events are durably stored. When ingest refuses the events, the claim
is released (state and record as before) and the refusal passes through; when the store fails
mid-way the claim stays pending, and the sender's retry finishes it. On any failure after step
4 the signature is forgotten, so the same signed request may be sent again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from capigate.errors import AuthError, GatewayError, StoreError, ValidationError
from capigate.findings import Finding
from capigate.ingest import Caller, EventResult, Ingestor
from capigate.plan.model import Plan
from capigate.secret import Secret
from capigate.sources import Source, SourceKind
from capigate.store import Store
from capigate.store.webhooks import PaymentRecord
from capigate.webhooks import atmos, signature
from capigate.webhooks.config import Adapter, ProviderConfig
from capigate.webhooks.items import to_item
from capigate.webhooks.mapping import Ignored, Payment, read_payment
from capigate.webhooks.subscriptions import Decision, decide

MAX_CLAIM_ATTEMPTS = 8  # reads and re-decides when other requests keep saving the same user
PURGE_INTERVAL_S = 600.0  # how often expired signatures are swept out of the store
MIN_SECRET_CHARS = 16
SOURCE_CHANNEL = "webhook"  # the plan's source kind of webhook events
DUPLICATE_NOTE = "this transaction was applied before"
log = logging.getLogger("capigate.webhooks")


def source_for(provider: str) -> Source:
    """The ingest source a provider's events are stored under (``webhook-<name>``)."""
    return Source(f"{SOURCE_CHANNEL}-{provider}", SourceKind.SERVER, channel=SOURCE_CHANNEL)


class UnknownProvider(GatewayError):
    """404: no provider of this name is configured (or its secret is not set)."""


class MalformedBody(ValidationError):
    """400: the body is not JSON."""


class UnmappedPayload(ValidationError):
    """422: the payload lacks a mapped field or has a bad value; ``findings`` name the paths."""


class Replayed(GatewayError):
    """409: this exact signed request was accepted before."""


@dataclass(frozen=True, slots=True)
class Provider:
    """A configured provider with its secrets."""

    config: ProviderConfig
    secret: Secret
    callback_key: Secret | None = None  # Atmos: the callback sign key


@dataclass(frozen=True, slots=True)
class Handled:
    """The answer to one webhook: ``queued``, ``duplicate``, ``recorded`` or ``ignored``."""

    provider: str
    status: str
    transaction_id: str | None = None
    event_type: str | None = None
    outcome: str | None = None
    plan_key: str | None = None
    events: tuple[EventResult, ...] = ()
    note: str = ""


def providers_from(plan: Plan, secret: Callable[[str], Secret | None]) -> dict[str, Provider]:
    """The plan's providers whose secrets are set; the others are logged and left out."""
    found = {name: _provider(config, secret) for name, config in plan.webhooks.items()}
    return {name: provider for name, provider in found.items() if provider is not None}


def _provider(config: ProviderConfig, secret: Callable[[str], Secret | None]) -> Provider | None:
    key = secret(config.secret_env)
    callback = secret(config.callback_key_env) if config.callback_key_env else None
    wanted = ((config.secret_env, key), (config.callback_key_env, callback))
    unset = [env for env, value in wanted if env is not None and value is None]
    if key is None or unset:
        unset_fields = {"provider": config.name, "set": unset}
        log.warning("webhook provider disabled: secret not set", extra={"fields": unset_fields})
        return None
    if len(key.reveal()) < MIN_SECRET_CHARS:
        fields = {"provider": config.name, "env": config.secret_env, "min_chars": MIN_SECRET_CHARS}
        log.error("webhook provider disabled: secret too short", extra={"fields": fields})
        return None
    return Provider(config, key, callback)


class WebhookIngestor:
    """Turns signed provider webhooks into stored events, once per transaction."""

    def __init__(
        self, providers: Mapping[str, Provider], *, store: Store, ingestor: Ingestor
    ) -> None:
        self.providers = dict(providers)
        self._store = store
        self._ingestor = ingestor
        self._next_purge_at = float("-inf")

    async def handle(self, name: str, body: bytes, header: str | None, *, now_s: float) -> Handled:
        """Run one webhook request (see the module doc for the steps and their errors)."""
        provider = self.providers.get(name)
        if provider is None:
            raise UnknownProvider(f"no webhook provider {name!r} is configured")
        config = provider.config
        secret = provider.secret.reveal().encode()
        verified = signature.verify(
            body, header, secret, now_s=now_s, tolerance_s=config.tolerance_s
        )
        payment = self._payment(provider, body, now_s)
        await self._purge(now_s)
        key = signature.replay_key(name, verified)
        expires = verified.expires_at(config.tolerance_s)
        if not await self._store.remember_signature(key, expires_at_s=expires, now_s=now_s):
            raise Replayed(
                "this signed request was accepted before; sign each attempt anew (fresh t=)"
            )
        try:
            if isinstance(payment, Ignored):
                return Handled(name, "ignored", event_type=payment.event_type)
            return await self._apply(config, payment, now_s)
        except BaseException:
            with contextlib.suppress(StoreError):
                await self._store.forget_signature(key)
            raise

    def _payment(self, provider: Provider, body: bytes, now_s: float) -> Payment | Ignored:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise MalformedBody(f"the body is not valid JSON: {exc.msg}") from None
        if provider.config.adapter is Adapter.ATMOS:
            assert provider.callback_key is not None  # providers_from requires it
            findings = atmos.verify_callback(body, provider.callback_key.reveal())
            if findings:
                raise UnmappedPayload("the Atmos callback is incomplete", findings)
        read = read_payment(payload, provider.config, now_s=now_s)
        if isinstance(read, list):
            raise UnmappedPayload(_unmapped(read), read)
        return read

    async def _apply(self, config: ProviderConfig, payment: Payment, now_s: float) -> Handled:
        for _ in range(MAX_CLAIM_ATTEMPTS):
            record = await self._store.payment_record(config.name, payment.transaction_id)
            if record is not None:
                if record.done:
                    return _handled(record, payment, "duplicate", DUPLICATE_NOTE)
                return await self._finish(record, payment, now_s, note="pending, sent again")
            handled = await self._claim(config, payment, now_s)
            if handled is not None:
                return handled
        raise StoreError("the subscription kept changing under concurrent webhooks; retry")

    async def _claim(
        self, config: ProviderConfig, payment: Payment, now_s: float
    ) -> Handled | None:
        """Decide and claim; ``None`` when another request got in first (decide again)."""
        before = await self._store.load_subscription(payment.user_key)
        lapse = config.lapse_after(before.plan if before else payment.plan)
        decision = decide(before, payment, lapse_after_s=lapse)
        record = _record(config, payment, decision, now_s)
        expected = before.version if before else 0
        claim = await self._store.claim_payment(record, decision.state, expected_version=expected)
        if claim != "claimed":
            return None
        try:
            return await self._finish(record, payment, now_s, note=decision.note)
        except (ValidationError, AuthError):
            await self._store.release_payment(record, previous=before, claimed_version=expected + 1)
            raise

    async def _finish(
        self, record: PaymentRecord, payment: Payment, now_s: float, *, note: str
    ) -> Handled:
        results: list[EventResult] = []
        if record.plan_key is not None:
            item = to_item(payment, record.plan_key, record.properties)
            caller = Caller(source_for(record.provider))
            results = await self._ingestor.ingest([item], prefix="$", caller=caller, now_s=now_s)
        await self._store.complete_payment(record.provider, record.transaction_id, now_s=now_s)
        status = "recorded" if not results else _status(results)
        log.info("webhook applied", extra={"fields": _log_fields(record, status)})
        return _handled(record, payment, status, note, tuple(results))

    async def _purge(self, now_s: float) -> None:
        if now_s < self._next_purge_at:
            return
        self._next_purge_at = now_s + PURGE_INTERVAL_S
        try:
            await self._store.purge_signatures(now_s=now_s)
        except StoreError:
            log.exception("webhook signatures: purge failed")


def _record(
    config: ProviderConfig, payment: Payment, decision: Decision, now_s: float
) -> PaymentRecord:
    outcome = decision.outcome
    return PaymentRecord(
        provider=config.name,
        transaction_id=payment.transaction_id,
        user_key=payment.user_key,
        action=payment.action.value,
        outcome=None if outcome is None else outcome.value,
        plan_key=None if outcome is None else config.key_for(outcome),
        properties=decision.properties,
        created_at=now_s,
    )


def _handled(
    record: PaymentRecord,
    payment: Payment,
    status: str,
    note: str,
    events: tuple[EventResult, ...] = (),
) -> Handled:
    return Handled(
        provider=record.provider,
        status=status,
        transaction_id=record.transaction_id,
        event_type=payment.event_type,
        outcome=record.outcome,
        plan_key=record.plan_key,
        events=events,
        note=note,
    )


def _status(results: list[EventResult]) -> str:
    return "queued" if any(r.status == "queued" for r in results) else "duplicate"


def _unmapped(findings: list[Finding]) -> str:
    count = sum(1 for f in findings if f.is_error)
    return f"{count} mapped field(s) missing or invalid; nothing was stored"


def _log_fields(record: PaymentRecord, status: str) -> dict[str, Any]:
    """Ids, outcome and status only: the user's id and the amounts stay out of the log."""
    return {
        "provider": record.provider,
        "transaction_id": record.transaction_id,
        "outcome": record.outcome,
        "plan_key": record.plan_key,
        "status": status,
    }
