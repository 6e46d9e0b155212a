"""POST one batch body to the gateway, retrying what may succeed later.

Retryable: network errors and timeouts, 408, 429, 503 and every other 5xx (the body was not
stored, or a resend is answered ``duplicate``). Permanent: every other 4xx, raised at once as
``ClientError`` with the problem document's findings. When the tries run out, or the gateway
asks for a pause longer than the policy waits inside a call, ``Unavailable`` tells the caller
to spool the events and when to try again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from capigate.client.backoff import RetryPolicy, parse_retry_after
from capigate.client.errors import CapigateClientError, ClientError
from capigate.client.events import Finding

INGEST_PATH = "/api/marketing/meta"
USER_AGENT = "capigate-client/1"
RETRYABLE_STATUSES = frozenset({408, 429})  # plus every 5xx
log = logging.getLogger("capigate.client")

Sleep = Callable[[float], Awaitable[None]]
Random = Callable[[], float]
Clock = Callable[[], float]


class Unavailable(CapigateClientError):
    """The gateway did not take the body within this call; ``retry_after_s`` if it said."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class _Retry:
    reason: str
    retry_after_s: float | None


class Transport:
    """The ingest endpoint behind one ``httpx.AsyncClient`` (its transport is the test seam)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        timeout_s: float,
        policy: RetryPolicy,
        sleep: Sleep,
        random: Random,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key.strip():
            raise ValueError("api_key: must be the gateway source's server key")
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout_s,
            transport=transport,
            headers={
                "Authorization": f"Bearer {api_key.strip()}",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        self._policy = policy
        self._sleep = sleep
        self._random = random
        self._clock = clock

    async def post(self, body: bytes) -> list[Any]:
        """The gateway's per-event ``results`` for ``body``, after retries.

        Raises ``ClientError`` (permanent refusal) or ``Unavailable`` (give up for now).
        """
        retry = 0
        while True:
            outcome = await self._once(body)
            if not isinstance(outcome, _Retry):
                return outcome
            retry += 1
            wait_s = self._policy.wait_s(retry, outcome.retry_after_s, self._random)
            if wait_s is None:
                raise Unavailable(outcome.reason, outcome.retry_after_s)
            log.info("gateway busy (%s); retry %d in %.2f s", outcome.reason, retry, wait_s)
            await self._sleep(wait_s)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _once(self, body: bytes) -> list[Any] | _Retry:
        try:
            response = await self._http.post(INGEST_PATH, content=body)
        except httpx.TransportError as exc:
            detail = f": {exc}" if str(exc) else ""
            return _Retry(type(exc).__name__ + detail, None)
        status = response.status_code
        if 200 <= status < 300:
            return _results(response)
        if status in RETRYABLE_STATUSES or status >= 500:
            retry_after_s = parse_retry_after(
                response.headers.get("retry-after"), now_s=self._clock()
            )
            return _Retry(f"HTTP {status}", retry_after_s)
        raise refusal(status, _json(response))


def refusal(status: int, document: object) -> ClientError:
    """The ``ClientError`` for a permanent answer and its (problem) document."""
    problem = document if isinstance(document, Mapping) else None
    detail = (problem or {}).get("detail")
    errors = (problem or {}).get("errors")
    findings = [Finding.from_json(f) for f in errors] if isinstance(errors, list) else []
    text = detail if isinstance(detail, str) else f"the gateway answered HTTP {status}"
    return ClientError(status, text, findings=findings, problem=problem)


def _results(response: httpx.Response) -> list[Any]:
    document = _json(response)
    results = document.get("results") if isinstance(document, Mapping) else None
    return results if isinstance(results, list) else []


def _json(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None
