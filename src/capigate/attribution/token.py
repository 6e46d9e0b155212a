"""Link tokens: the random value a landing page puts in ``t.me/<bot>?start=<token>``.

Telegram allows a start parameter of 1-64 characters of ``A-Z a-z 0-9 _ -`` (sources.md §1.1).
A token names a landing session stored on the gateway and nothing else: it is drawn at random
(128 bits by default), so it can be neither guessed nor decoded. The gateway cannot check how a
browser drew it, so it refuses tokens shorter than ``MIN_TOKEN_CHARS``, which no correct snippet
produces and which would be guessable.
"""

from __future__ import annotations

import base64
import re

MAX_TOKEN_CHARS = 64  # Telegram's limit for start / startapp parameters
MIN_TOKEN_CHARS = 16  # 96 bits of base64url
TOKEN_BYTES = 16  # what new_token expects: 22 base64url characters
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{MIN_TOKEN_CHARS},{MAX_TOKEN_CHARS}}}")
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")


def new_token(entropy: bytes) -> str:
    """A token from ``entropy`` (at least 12 random bytes, e.g. ``secrets.token_bytes(16)``)."""
    if len(entropy) < MIN_TOKEN_CHARS * 3 // 4:
        raise ValueError(f"a token needs at least {MIN_TOKEN_CHARS * 3 // 4} random bytes")
    token = base64.urlsafe_b64encode(entropy).rstrip(b"=").decode("ascii")
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError(f"a token has at most {MAX_TOKEN_CHARS} characters; pass fewer bytes")
    return token


def is_token(value: object) -> bool:
    """Whether ``value`` is a link token: 16-64 characters of ``[A-Za-z0-9_-]``."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def deep_link(bot: str, token: str, *, mini_app: bool = False) -> str:
    """``https://t.me/<bot>?start=<token>`` (``?startapp=`` to open the bot's main mini app)."""
    if not _BOT_USERNAME.fullmatch(bot):
        raise ValueError(f"bot {bot!r} is not a Telegram username (5-32 of A-Z a-z 0-9 _)")
    if not is_token(token):
        raise ValueError(f"token must be {MIN_TOKEN_CHARS}-{MAX_TOKEN_CHARS} of A-Z a-z 0-9 _ -")
    parameter = "startapp" if mini_app else "start"
    return f"https://t.me/{bot}?{parameter}={token}"
