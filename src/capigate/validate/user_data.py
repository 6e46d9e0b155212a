"""user_data (spec §3): hashed keys look hashed, clear keys look right, matching is possible.

Validation runs after the pipeline hashed the event, so an unhashed contact field here is a bug
or a raw Graph client: an error. Messages never echo a user_data value (it may be PII).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from capigate.findings import Finding
from capigate.normalize.ip import IpVerdict, classify
from capigate.validate.rules import child, found, kind

# Contact fields Meta accepts only as SHA-256 (§3.1), plus the SDK-only variants.
HASHED_KEYS = frozenset(
    {"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country",
     "f5first", "f5last", "fi", "dobd", "dobm", "doby", "app_user_id"}
)  # fmt: skip
# Never hashed, always strings.
CLEAR_TEXT_KEYS = frozenset(
    {"client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id", "anon_id",
     "madid", "ctwa_clid", "page_scoped_user_id", "ig_sid"}
)  # fmt: skip
# Never hashed, numeric ids sent as a string or an integer.
CLEAR_ID_KEYS = frozenset(
    {"fb_login_id", "lead_id", "page_id", "ig_account_id", "whatsapp_business_account_id",
     "instagram_business_account_id"}
)  # fmt: skip
OTHER_KEYS = frozenset({"external_id", "partner_id", "partner_name"})
KNOWN_KEYS = HASHED_KEYS | CLEAR_TEXT_KEYS | CLEAR_ID_KEYS | OTHER_KEYS
APP_ONLY_KEYS = frozenset({"madid", "anon_id"})

# §3.3: an event whose only keys are a subset of one of these is rejected (2804050).
TOO_BROAD_COMBINATIONS = (
    frozenset({"ct", "country", "st", "zp", "ge", "client_user_agent"}),
    frozenset({"db", "client_user_agent"}),
    frozenset({"fn", "ge"}),
    frozenset({"ln", "ge"}),
)

_BROAD_KEYS = frozenset().union(*TOO_BROAD_COMBINATIONS)  # one strong key ends the check early


def _too_broad(present: AbstractSet[str]) -> bool:
    return any(present <= combo for combo in TOO_BROAD_COMBINATIONS)


_HASHED = re.compile(r"[a-f0-9]{64}(?:\.[A-Za-z0-9_-]{2}|\.[A-Za-z0-9_-]{8})?")
SHA256_HEX_CHARS = 64
_SHA256_ANY_CASE = re.compile(r"[A-Fa-f0-9]{64}")
_FB_COOKIE = re.compile(r"fb\.\d\.\d{13}\.\S+")
LEAD_ID_DIGITS = (15, 16)
LEAD_ID_KEY = "lead_id"  # the one id key with a format rule

PATH = "$.user_data"
_PATHS = {key: child(PATH, key) for key in KNOWN_KEYS}  # built once: paths are per-key constants


def check_user_data(
    user_data: Mapping[str, Any], action_source: object, require_baseline: bool, out: list[Finding]
) -> None:
    """Append findings for a ``user_data`` object of an event with ``action_source``."""
    present: set[str] = set()
    for key, value in user_data.items():
        path = _PATHS.get(key) or child(PATH, key)
        if key not in _CHECKS:
            out.append(
                found(
                    "user_data_unknown_key",
                    path,
                    f"user_data.{key} is not a customer information parameter Meta knows; "
                    "it is ignored or rejected. Remove it or use Meta's key name.",
                )
            )
        elif not value and not isinstance(value, int | float):  # None, "", [], {}
            out.append(
                found("user_data_empty_value", path, f"user_data.{key} is empty; leave it out.")
            )
        else:
            present.add(key)
            _CHECKS[key](key, value, path, action_source, out)
    _check_matching(present, require_baseline, out)


def check_normalized_user_data(
    user_data: Mapping[str, Any], action_source: object, require_baseline: bool, out: list[Finding]
) -> None:
    """``check_user_data`` for a ``user_data`` that ``capigate.normalize`` wrote: same findings.

    Normalized user_data holds only known keys with non-empty strings; its hashed keys are
    canonical SHA-256 and its fbc/fbp passed a stricter envelope check than ours, so those
    checks could only pass and are skipped. The clear keys' own rules (public IP, app-only
    keys, lead_id digits, a clear key that looks hashed) and the matching rules still run.
    """
    for key, value in user_data.items():
        check = _NORMALIZED_CHECKS.get(key)
        if check is not None:
            check(key, value, _PATHS[key], action_source, out)
    _check_matching(user_data.keys(), require_baseline, out)


def normalized_user_data_is_clean(
    user_data: Mapping[str, Any], action_source: object, require_baseline: bool
) -> bool:
    """True when ``check_normalized_user_data`` would find nothing (the pipeline's fast path).

    The IP and user agent of nearly every event are judged here; rarer clear keys, and any
    doubt, go to the check itself.
    """
    if not user_data or not _CHECKED_HERE.issuperset(user_data):
        out: list[Finding] = []
        check_normalized_user_data(user_data, action_source, require_baseline, out)
        return not out
    address = user_data.get("client_ip_address")
    if address is not None and classify(address) is not IpVerdict.PUBLIC:
        return False
    agent = user_data.get("client_user_agent")
    if agent is not None and len(agent) == SHA256_HEX_CHARS and _SHA256_ANY_CASE.fullmatch(agent):
        return False
    keys = user_data.keys()
    return not (require_baseline and keys <= _BROAD_KEYS and _too_broad(keys))


def _check_matching(present: AbstractSet[str], require_baseline: bool, out: list[Finding]) -> None:
    if not present:
        out.append(
            found(
                "user_data_empty",
                PATH,
                "user_data has no customer information parameter; Meta cannot match the event. "
                "Send at least one, e.g. em, ph, external_id, fbp or client_ip_address.",
            )
        )
    elif require_baseline and present <= _BROAD_KEYS and _too_broad(present):
        out.append(
            found(
                "user_data_too_broad",
                PATH,
                f"user_data has only {', '.join(sorted(present))}: too broad to match anyone. "
                "Add a stronger key such as em, ph, external_id, fbp, fbc or client_ip_address.",
            )
        )


def _check_hashed(key: str, value: Any, path: str, _source: object, out: list[Finding]) -> None:
    if isinstance(value, str):
        _check_hash(key, value, path, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                _check_hash(key, item, f"{path}[{i}]", out)
            else:
                out.append(_type_error(key, f"{path}[{i}]", item, "a string"))
    else:
        out.append(_type_error(key, path, value, "a string or an array of strings"))


def _check_hash(key: str, value: str, path: str, out: list[Finding]) -> None:
    if _HASHED.fullmatch(value) and not value[:64].isdigit():
        return
    if key == "external_id":
        out.append(
            found(
                "external_id_not_hashed",
                path,
                "external_id is sent unhashed; Meta accepts it but recommends SHA-256. Send it "
                "in the same form on every channel (Pixel and CAPI).",
            )
        )
    elif _HASHED.fullmatch(value.lower()):
        out.append(
            found(
                "user_data_not_hashed",
                path,
                f"user_data.{key} is upper-case hex; Meta expects lowercase SHA-256 hex. "
                "Lowercase the hash.",
            )
        )
    else:
        out.append(
            found(
                "user_data_not_hashed",
                path,
                f"user_data.{key} is not a SHA-256 hash; Meta does not accept unhashed contact "
                "information. Normalize and hash it before sending.",
            )
        )


def _check_text(key: str, value: Any, path: str, _source: object, out: list[Finding]) -> None:
    if not isinstance(value, str):
        out.append(_type_error(key, path, value, "a string"))
    elif len(value) == SHA256_HEX_CHARS and _SHA256_ANY_CASE.fullmatch(value):
        out.append(_hashed_warning(key, path))


def _check_app_only(key: str, value: Any, path: str, source: object, out: list[Finding]) -> None:
    if source != "app":
        out.append(
            found(
                "app_only_user_key",
                path,
                f"{key} is used only with action_source=app; Meta ignores it on other events.",
            )
        )
    _check_text(key, value, path, source, out)


def _check_cookie(key: str, value: Any, path: str, _source: object, out: list[Finding]) -> None:
    if not isinstance(value, str):
        out.append(_type_error(key, path, value, "a string"))
    elif not _FB_COOKIE.fullmatch(value):
        out.append(
            found(
                f"{key}_format",
                path,
                f"{key} does not look like fb.<subdomain index>.<creation time in ms>.<id>; "
                f"Meta will not match on it. Send the _{key} cookie exactly as the browser "
                "holds it.",
            )
        )


def _check_id(key: str, value: Any, path: str, _source: object, out: list[Finding]) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        out.append(_type_error(key, path, value, "a string or an integer"))
    elif key == LEAD_ID_KEY and not _is_lead_id(str(value)):
        out.append(
            found(
                "lead_id_format",
                path,
                "lead_id should be the 15-16 digit id of a Lead Ads lead; Meta rejects other ids.",
            )
        )
    elif (
        isinstance(value, str)
        and len(value) == SHA256_HEX_CHARS
        and _SHA256_ANY_CASE.fullmatch(value)
    ):
        out.append(_hashed_warning(key, path))


def _check_client_ip(key: str, value: Any, path: str, _source: object, out: list[Finding]) -> None:
    if not isinstance(value, str):
        out.append(_type_error(key, path, value, "a string"))
    else:
        _check_ip(value, path, out)


def _no_check(_key: str, _value: Any, _path: str, _source: object, _out: list[Finding]) -> None:
    """Keys Meta's table does not describe (Segment's partner_*): accepted as they are."""


def _check_ip(value: str, path: str, out: list[Finding]) -> None:
    rule = _ip_rule(value)
    if rule == "client_ip_invalid":
        out.append(
            found(
                rule,
                path,
                "client_ip_address is not an IPv4 or IPv6 address (no spaces, never hashed). "
                "Send the user's address as the server saw it.",
            )
        )
    elif rule == "client_ip_not_public":
        out.append(
            found(
                rule,
                path,
                "client_ip_address is a private, loopback or reserved address; Meta needs the "
                "user's public address (check X-Forwarded-For handling).",
            )
        )


_IP_RULES = {
    IpVerdict.INVALID: "client_ip_invalid",
    IpVerdict.PUBLIC: None,
    IpVerdict.NOT_PUBLIC: "client_ip_not_public",
}


def _ip_rule(value: str) -> str | None:
    return _IP_RULES[classify(value)]


_Check = Callable[[str, Any, str, object, list[Finding]], None]
# One checker per known key: a dict lookup instead of a chain of membership tests.
_CHECKS: dict[str, _Check] = {
    **dict.fromkeys(HASHED_KEYS | {"external_id"}, _check_hashed),
    **dict.fromkeys(CLEAR_TEXT_KEYS, _check_text),
    **dict.fromkeys(APP_ONLY_KEYS, _check_app_only),
    **dict.fromkeys(("fbc", "fbp"), _check_cookie),
    **dict.fromkeys(CLEAR_ID_KEYS, _check_id),
    "client_ip_address": _check_client_ip,
    "partner_id": _no_check,
    "partner_name": _no_check,
}
_NORMALIZED_CHECKS = {
    key: check for key, check in _CHECKS.items() if check not in (_check_hashed, _check_cookie)
}
# Keys normalized_user_data_is_clean judges without the full check.
_CHECKED_HERE = frozenset(key for key in _CHECKS if key not in _NORMALIZED_CHECKS) | {
    "client_ip_address",
    "client_user_agent",
}


def _is_lead_id(text: str) -> bool:
    return text.isdigit() and len(text) in LEAD_ID_DIGITS


def _hashed_warning(key: str, path: str) -> Finding:
    return found(
        "never_hash_key_hashed",
        path,
        f"{key} looks like a SHA-256 hash, but Meta wants it in the clear; a hashed {key} "
        "never matches. Send the original value.",
    )


def _type_error(key: str, path: str, value: Any, expected: str) -> Finding:
    return found(
        "user_data_value_type",
        path,
        f"user_data.{key} must be {expected}, not {kind(value)}.",
    )
