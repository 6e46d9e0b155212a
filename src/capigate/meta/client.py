"""The Conversions API client: ``POST /{version}/{pixel_id}/events`` on httpx (spec §1.1).

The ``httpx.AsyncClient`` handed in is the seam: production passes a pooled client, unit tests
an ``httpx.MockTransport``, integration tests the emulator through ``httpx.ASGITransport``.
Every answer, timeouts and connection errors included, comes back as a ``classify.Outcome``;
no httpx exception escapes. The access token travels only in the JSON body, never in a URL
(where proxies and access logs would keep it), and is masked in everything the client returns.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

import httpx
import orjson

from capigate import __version__
from capigate.classify import Outcome, OutcomeKind, classify
from capigate.clock import Clock, system_clock
from capigate.errors import ConfigError
from capigate.secret import Secret

DEFAULT_API_VERSION: Final = "v25.0"
DEFAULT_GRAPH_URL: Final = "https://graph.facebook.com"
# Meta advises a 1.5 s timeout for one event (spec §1.4: most answers take under 600 ms). A batch
# of 1,000 events is a megabyte or two that Meta validates in full before it answers, so reads
# get 30 s. A timed-out batch is retried, and Meta dedups on event_id, so waiting costs little.
CONNECT_TIMEOUT_S: Final = 3.0
READ_TIMEOUT_S: Final = 30.0
DEFAULT_TIMEOUT: Final = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)

_PIXEL_ID: Final = re.compile(r"[0-9]{1,32}")
_API_VERSION: Final = re.compile(r"v[0-9]{1,3}\.[0-9]{1,3}")
_MASK: Final = "**********"
_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": f"capigate/{__version__}",
}


class MetaClient:
    """Sends Graph requests for one access token; safe to share between tasks."""

    __slots__ = ("_app_secret", "_clock", "_http", "_timeout", "_token", "api_version", "graph_url")

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_token: Secret,
        api_version: str = DEFAULT_API_VERSION,
        graph_url: str = DEFAULT_GRAPH_URL,
        app_secret: Secret | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Clock = system_clock,
    ) -> None:
        if not access_token:
            raise ConfigError("Meta access token is empty")
        if not _API_VERSION.fullmatch(api_version):
            raise ConfigError(f"Graph API version must look like v25.0, got {api_version!r}")
        self._http = http
        self._token = access_token
        self._app_secret = app_secret
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._clock = clock
        self.api_version = api_version
        self.graph_url = _checked_graph_url(graph_url)

    def __repr__(self) -> str:
        proof = self._app_secret is not None
        where = f"graph_url={self.graph_url!r}, api_version={self.api_version!r}"
        return f"MetaClient({where}, appsecret_proof={proof})"

    def events_url(self, pixel_id: str) -> str:
        """The events edge of a pixel or dataset; refuses ids that are not numeric."""
        if not _PIXEL_ID.fullmatch(pixel_id):
            raise ConfigError(
                f"pixel_id must be Meta's numeric pixel or dataset id, got {pixel_id!r}"
            )
        return f"{self.graph_url}/{self.api_version}/{pixel_id}/events"

    async def send(self, pixel_id: str, body: Mapping[str, Any]) -> Outcome:
        """Post a Graph body (``data``, ``test_event_code``, ...) and classify Meta's answer.

        The client adds ``access_token`` and ``appsecret_proof``, replacing any the body holds.
        """
        url = self.events_url(pixel_id)
        try:
            content = orjson.dumps({**body, **self._auth_params()})
        except orjson.JSONEncodeError as exc:
            return Outcome(OutcomeKind.PERMANENT, message=f"request body is not JSON: {exc}")
        return await self._post(url, content)

    async def send_raw(
        self, pixel_id: str, data_json: bytes, extra: Mapping[str, Any] | None = None
    ) -> Outcome:
        """Post events already encoded as a JSON array (``data_json``) and ``extra`` body keys.

        The events go out as given, never decoded: the worker splices stored payloads into
        ``data_json``. The client adds ``access_token`` and ``appsecret_proof`` as ``send`` does.
        """
        url = self.events_url(pixel_id)
        if extra and "data" in extra:
            raise ValueError("extra must not hold 'data': pass the events as data_json")
        try:
            rest = orjson.dumps({**(extra or {}), **self._auth_params()})  # holds the token
        except orjson.JSONEncodeError as exc:
            return Outcome(OutcomeKind.PERMANENT, message=f"request body is not JSON: {exc}")
        return await self._post(url, b'{"data":' + data_json + b"," + rest[1:])

    async def send_events(
        self, pixel_id: str, payloads: Sequence[str], extra: Mapping[str, Any] | None = None
    ) -> Outcome:
        """Post stored events' JSON texts (``payloads``) as ``data``, with ``extra`` body keys.

        As ``send_raw``, but the body is joined from the texts in one pass: a batch is a
        megabyte or two, and each intermediate copy (the array, then the body around it)
        cost the worker about a millisecond.
        """
        url = self.events_url(pixel_id)
        if extra and "data" in extra:
            raise ValueError("extra must not hold 'data': pass the events as payloads")
        try:
            rest = orjson.dumps({**(extra or {}), **self._auth_params()})  # holds the token
        except orjson.JSONEncodeError as exc:
            return Outcome(OutcomeKind.PERMANENT, message=f"request body is not JSON: {exc}")
        return await self._post(url, _spliced(payloads, rest.decode()))

    async def probe(self, pixel_id: str) -> Outcome:
        """Ask Meta whether the token may post to this pixel, without creating any event.

        The probe posts an empty ``data`` batch. Graph checks the token and the pixel before it
        reads the body (spec §12's validation order), so a refused token still answers 190 and a
        good one reaches body validation, which rejects the empty batch with code 100: proof
        enough, and nothing lands in Events Manager. A real event, even with
        ``test_event_code``, would (Meta does not drop test events), and a GET of the pixel
        needs read permissions a dataset token may lack. Judge it with
        ``classify.probe_verdict``.
        """
        return await self.send(pixel_id, {"data": []})

    def _auth_params(self) -> dict[str, str]:
        token = self._token.reveal()
        params = {"access_token": token}
        if self._app_secret is not None:
            key = self._app_secret.reveal().encode()
            params["appsecret_proof"] = hmac.new(key, token.encode(), hashlib.sha256).hexdigest()
        return params

    async def _post(self, url: str, content: bytes) -> Outcome:
        try:
            response = await self._http.post(
                url, content=content, headers=_HEADERS, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            return self._transport_failure(f"timeout: {type(exc).__name__}")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return self._transport_failure(f"{type(exc).__name__}: {exc}")
        outcome = classify(
            status=response.status_code,
            body=_json_or_none(response.content),
            headers=response.headers,
            now_s=self._clock(),
        )
        return self._scrubbed(outcome)

    def _transport_failure(self, message: str) -> Outcome:
        return self._scrubbed(classify(status=None, transport_error=message))

    def _scrubbed(self, outcome: Outcome) -> Outcome:
        """Mask the token wherever an answer or an error message echoes it."""
        token = self._token.reveal()
        texts = {name: getattr(outcome, name) for name in ("message", "user_title", "user_msg")}
        if not any(text and token in text for text in texts.values()):
            return outcome
        masked = {
            name: text.replace(token, _MASK) if text else text for name, text in texts.items()
        }
        return replace(outcome, **masked)


def _spliced(payloads: Sequence[str], rest: str) -> bytes:
    """``{"data":[<payloads>],<rest without its brace>`` as one join."""
    if not payloads:
        return ('{"data":[],' + rest[1:]).encode()
    parts = list(payloads)
    parts[0] = '{"data":[' + parts[0]
    parts[-1] = parts[-1] + "]," + rest[1:]
    return ",".join(parts).encode()


def _checked_graph_url(graph_url: str) -> str:
    try:
        url = httpx.URL(graph_url)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"Graph URL {graph_url!r} is not a URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise ConfigError(f"Graph URL must be http(s)://host[/path], got {graph_url!r}")
    return graph_url.rstrip("/")


def _json_or_none(content: bytes) -> object:
    """The parsed body, or None when it is not JSON (an HTML error page from a proxy, say)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
