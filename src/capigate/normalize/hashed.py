"""Already-hashed values: which shapes pass through untouched, and the SHA-256 we compute otherwise.

Only SHA-256 is recognised, because it is the only hash Meta documents (spec §3.1):

* 64 hex characters in any case, unless all of them are digits (a 64-digit number is data);
  passed on lowercased.
* Meta's parameter-builder output ``<64 hex>.<appendix>``, the appendix being 2 or 8 characters
  of ``[A-Za-z0-9_-]``; the hex part is lowercased, the appendix kept as it is (it is base64url).

32 hex characters (an MD5 shape) are an ordinary value and get hashed like any other.
Hashes themselves are computed in ``fields`` (hashlib SHA-256 of the UTF-8 bytes, lowercase hex).
"""

from __future__ import annotations

import re

SHA256_HEX_LEN = 64
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_APPENDIX = re.compile(r"\.(?:[A-Za-z0-9_-]{2}|[A-Za-z0-9_-]{8})")


def _is_sha256_hex(text: str) -> bool:
    return len(text) == SHA256_HEX_LEN and _HEX_DIGITS.issuperset(text) and not text.isdigit()


def is_hashed(value: object) -> bool:
    """True if ``value`` is a SHA-256 hex digest, or one with Meta's parameter-builder appendix."""
    if not isinstance(value, str):
        return False
    if len(value) == SHA256_HEX_LEN:
        return _is_sha256_hex(value)
    return _is_sha256_hex(value[:SHA256_HEX_LEN]) and bool(
        _APPENDIX.fullmatch(value, SHA256_HEX_LEN)
    )


def canonical_hashed(value: str) -> str:
    """An already-hashed value as Meta should receive it: hex lowercased, appendix unchanged."""
    return value[:SHA256_HEX_LEN].lower() + value[SHA256_HEX_LEN:]
