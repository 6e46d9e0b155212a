"""Every error capigate raises on purpose.

Foreign errors (httpx, sqlite3, psycopg, YAML, the web framework) are translated into this tree
at the edge that meets them, so callers catch one family::

    GatewayError
    ├── ConfigError                 bad configuration; raised at start-up, never later
    ├── InvalidField                one user_data / payload value breaks a rule (names key and rule)
    ├── ValidationError             the caller's event or request is unacceptable (HTTP 4xx)
    │   └── PlanError               a tracking plan that does not load or lint
    ├── AuthError                   a source key or signature is missing or wrong (HTTP 401/403)
    ├── StoreError                  the durable store failed (driver errors wrapped)
    │   └── Backpressure            the outbox is above its high-water mark (HTTP 503)
    └── DeliveryError               talking to Meta failed
        ├── TransientDeliveryError  try again later (5xx, timeouts, codes 1, 2, ...)
        │   └── RateLimited         throttled; carries retry_after_s
        ├── TokenError              the access token is refused (190, 102, 104): pause the pixel
        └── PermanentDeliveryError  Meta will refuse this payload again (code 100, ...)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class GatewayError(Exception):
    """Base of every error capigate raises on purpose."""


class ConfigError(GatewayError):
    """The configuration is invalid; the message names the setting and the rule."""


class InvalidField(GatewayError, ValueError):
    """A field value breaks a normalization rule.

    ``key`` is Meta's name for the field (``em``, ``ph``, ...) and ``rule`` a short stable slug
    (``email_format``, ``phone_too_short``, ...) that tests and dashboards can match on.
    """

    def __init__(self, key: str, rule: str, message: str) -> None:
        super().__init__(f"{key}: {message} (rule: {rule})")
        self.key = key
        self.rule = rule
        self.message = message


class ValidationError(GatewayError):
    """The caller sent something unacceptable; ``findings`` lists every problem found."""

    def __init__(self, message: str, findings: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.findings = list(findings)


class PlanError(ValidationError):
    """A tracking plan failed to load or lint."""


class AuthError(GatewayError):
    """A key, token or signature is missing or wrong; ``status`` is 401 or 403."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class StoreError(GatewayError):
    """The durable store failed; the driver's error is chained as ``__cause__``."""


class Backpressure(StoreError):
    """The outbox holds more than its high-water mark; callers should retry after a pause."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DeliveryError(GatewayError):
    """Meta did not accept a request; carries Meta's code, subcode and trace id when known."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id


class TransientDeliveryError(DeliveryError):
    """A failure that may pass: retry with backoff."""


class RateLimited(TransientDeliveryError):
    """Meta throttled the request; ``retry_after_s`` is how long to wait, when known."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


class TokenError(DeliveryError):
    """The access token was refused; delivery for the pixel pauses until a token works."""


class PermanentDeliveryError(DeliveryError):
    """Meta will refuse this payload again; the events go to the dead letters."""
