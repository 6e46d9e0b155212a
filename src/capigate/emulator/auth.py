"""Step 1 of spec §12: API version, access token, ``appsecret_proof``, pixel or dataset id."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from capigate.emulator import envelope
from capigate.emulator.config import EmulatorConfig
from capigate.emulator.envelope import Refused
from capigate.secret import Secret


def check_auth(params: dict[str, Any], pixel_id: str, version: str, config: EmulatorConfig) -> None:
    """Raise ``Refused`` the way Graph refuses a request before it looks at the payload."""
    if version in config.deprecated_versions:
        raise Refused(envelope.deprecated_version(version))
    token = params.get("access_token")
    if token is None or token == "":
        raise Refused(envelope.missing_token())
    if not isinstance(token, str):
        raise Refused(envelope.invalid_token())
    _check_token(Secret(token), token, config)
    _check_proof(params.get("appsecret_proof"), token, config)
    if not pixel_id.isdigit():
        raise Refused(envelope.unknown_alias(pixel_id))
    if config.pixel_ids is not None and pixel_id not in config.pixel_ids:
        raise Refused(envelope.unknown_object(pixel_id))


def appsecret_proof(token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the access token keyed with the app secret, as Graph expects it."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def _check_token(secret: Secret, token: str, config: EmulatorConfig) -> None:
    if secret in config.expired_tokens:
        raise Refused(envelope.expired_token())
    if config.access_tokens is not None:
        if secret not in config.access_tokens:
            raise Refused(envelope.invalid_token())
    elif not token.strip() or any(c.isspace() for c in token):
        raise Refused(envelope.invalid_token())


def _check_proof(proof: Any, token: str, config: EmulatorConfig) -> None:
    if config.app_secret is None:
        return
    if proof is None or proof == "":
        if config.require_appsecret_proof:
            raise Refused(envelope.missing_appsecret_proof())
        return
    expected = appsecret_proof(token, config.app_secret.reveal())
    if not isinstance(proof, str) or not hmac.compare_digest(proof, expected):
        raise Refused(envelope.invalid_appsecret_proof())
