"""``external_id`` (hashed) and the keys Meta must receive raw (never hashed, case never changed).

``external_id`` follows Meta's parameter builder: trimmed, lowercased, every whitespace removed,
then hashed. Meta only asks for the same format on every channel, so the snippet and every other
sender must apply this same rule. Digit-only ids are ordinary values, never taken as hashes.

Raw keys are trimmed and checked, never rewritten:

* ``client_ip_address``: an IPv4 or IPv6 address Python's ``ipaddress`` accepts;
* ``fbc``/``fbp``: Meta's envelope ``fb.<digit>.<13-digit ms>.<payload>``, with an optional
  parameter-builder appendix (``.<2 or 8 of [A-Za-z0-9_-]>``);
* Meta object ids (``page_id``, ``fb_login_id``, ``lead_id``, ...): ASCII digits;
* ``madid``: no whitespace, and not the all-zero id a device reports when tracking is off;
* other tokens (``anon_id``, ``ctwa_clid``, ``subscription_id``): no whitespace;
* ``client_user_agent``: any non-empty text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from capigate.errors import InvalidField
from capigate.normalize.ip import IpVerdict, classify
from capigate.normalize.text import require

_WHITESPACE = re.compile(r"[\s\ufeff]+")
_FB_COOKIE = re.compile(
    r"fb\.\d\.\d{13}\.[\x21-\x2d\x2f-\x7e]+(?:\.[A-Za-z0-9_-]{2}|\.[A-Za-z0-9_-]{8})?"
)
_ASCII_DIGITS = re.compile(r"[0-9]+")
_ZEROED_MADID = re.compile(r"[0-]+")
_NUMERIC_IDS = (
    "fb_login_id",
    "lead_id",
    "page_id",
    "page_scoped_user_id",
    "ig_account_id",
    "ig_sid",
    "whatsapp_business_account_id",
    "instagram_business_account_id",
)


def normalize_external_id(text: str) -> str:
    """``external_id``: lowercase with all whitespace removed."""
    if text and text.isascii() and text.isprintable() and " " not in text:
        return text.lower()  # no whitespace of any kind: printable ASCII minus the space
    return require("external_id", _WHITESPACE.sub("", text).lower(), "external_id")


def _ip(value: str) -> str:
    if classify(value) is IpVerdict.INVALID:
        raise InvalidField("client_ip_address", "ip_invalid", "not an IPv4 or IPv6 address")
    return value


def _fb_cookie(key: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if _FB_COOKIE.fullmatch(value) is None:
            raise InvalidField(
                key, f"{key}_format", f"{key} must look like fb.1.<13-digit ms>.<id>"
            )
        return value

    return check


def _numeric(key: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if _ASCII_DIGITS.fullmatch(value) is None:
            raise InvalidField(key, "id_not_numeric", f"{key} is a numeric Meta id")
        return value

    return check


def _token(key: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if _WHITESPACE.search(value):
            raise InvalidField(key, "id_whitespace", f"{key} must not contain spaces")
        return value

    return check


def _madid(value: str) -> str:
    _madid_token(value)
    if _ZEROED_MADID.fullmatch(value):
        raise InvalidField(
            "madid", "madid_zeroed", "an all-zero advertising id means tracking is off"
        )
    return value


_madid_token = _token("madid")


def _user_agent(value: str) -> str:
    return value


# Validator of each never-hash key: takes the trimmed, non-empty text, returns it or raises.
RAW_CHECKS: dict[str, Callable[[str], str]] = {
    "client_ip_address": _ip,
    "client_user_agent": _user_agent,
    "fbc": _fb_cookie("fbc"),
    "fbp": _fb_cookie("fbp"),
    "madid": _madid,
    "anon_id": _token("anon_id"),
    "ctwa_clid": _token("ctwa_clid"),
    "subscription_id": _token("subscription_id"),
    **{key: _numeric(key) for key in _NUMERIC_IDS},
}


def validate_raw(key: str, text: str) -> str:
    """``text`` (already trimmed and non-empty) if it is valid for the raw ``key``."""
    return RAW_CHECKS[key](text)
