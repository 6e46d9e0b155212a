"""Telegram Mini App ``initData``: the only proof a browser can give of who the user is.

Telegram signs the launch data with the bot token (first-party check): every field except
``hash``, sorted by key as ``key=value`` lines, HMAC-SHA256 with the key
``HMAC_SHA256(key="WebAppData", msg=bot_token)``. Telegram sets no maximum age, so freshness of
``auth_date`` is ours to choose (``DEFAULT_INIT_DATA_MAX_AGE_S``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from capigate.errors import AuthError
from capigate.secret import Secret

DEFAULT_INIT_DATA_MAX_AGE_S = 86_400  # a day, as init-data-py and telega default to
MAX_FUTURE_SKEW_S = 60  # an auth_date this far ahead of our clock is still believed
MAX_INIT_DATA_CHARS = 4_096


@dataclass(frozen=True, slots=True)
class InitData:
    """What a verified ``initData`` tells us: the Telegram user and the launch parameters."""

    user_id: str | None
    auth_date_s: int
    start_param: str | None


def secret_key(bot_token: Secret) -> bytes:
    """``HMAC_SHA256(key=b"WebAppData", msg=bot_token)``: compute once per token."""
    return hmac.new(b"WebAppData", bot_token.reveal().encode(), hashlib.sha256).digest()


def sign(fields: dict[str, str], bot_token: Secret) -> str:
    """The ``hash`` Telegram would put on ``fields`` (used by tests and the demo)."""
    return hmac.new(
        secret_key(bot_token), _check_string(fields).encode(), hashlib.sha256
    ).hexdigest()


def verify(init_data: str, key: bytes, *, now_s: float, max_age_s: int) -> InitData:
    """The verified launch data, or ``AuthError`` (403) saying which check failed.

    ``key`` is ``secret_key(bot_token)``.
    """
    fields = _parse(init_data)
    received = fields.pop("hash", "")
    calc = hmac.new(key, _check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(calc, received.lower()):
        raise _refuse("hash does not match (wrong bot token or altered data)")
    auth_date_s = _auth_date(fields.get("auth_date", ""))
    if auth_date_s > now_s + MAX_FUTURE_SKEW_S:
        raise _refuse("auth_date is in the future")
    if now_s - auth_date_s > max_age_s:
        raise _refuse(f"auth_date is older than {max_age_s} s")
    return InitData(_user_id(fields.get("user")), auth_date_s, fields.get("start_param"))


def _parse(init_data: str) -> dict[str, str]:
    if not init_data or len(init_data) > MAX_INIT_DATA_CHARS:
        raise _refuse(f"must be a non-empty query string of at most {MAX_INIT_DATA_CHARS} chars")
    try:
        pairs = parse_qsl(init_data, strict_parsing=True, keep_blank_values=True)
    except ValueError:
        raise _refuse("is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise _refuse("repeats a field")
    if not fields.get("hash"):
        raise _refuse("has no hash")
    return fields


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))


def _auth_date(raw: str) -> int:
    if not raw.isdigit():
        raise _refuse("auth_date is missing or not a Unix time")
    return int(raw)


def _user_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        user = json.loads(raw)
    except ValueError:
        raise _refuse("user is not JSON") from None
    user_id = user.get("id") if isinstance(user, dict) else None
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise _refuse("user.id is missing or not an integer")
    return str(user_id)


def _refuse(reason: str) -> AuthError:
    return AuthError(f"Telegram initData: {reason}", status=403)
