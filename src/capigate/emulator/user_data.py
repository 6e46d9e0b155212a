"""Step 6 of spec §12: customer information (spec §3).

In order: unknown keys, at least one key that is not a "too broad" combination (§3.3, 2804050),
hashed keys look like SHA-256 (optionally with the param-builder suffix), never-hash keys do
not, ``client_ip_address`` parses, ``fbc``/``fbp`` have the ``fb.N.<ms>.<id>`` envelope.
"""

from __future__ import annotations

import re
import socket
from typing import Any

from capigate.emulator.config import EmulatorConfig
from capigate.emulator.envelope import SUBCODE_PARAM_ERROR, refuse, refuse_param
from capigate.emulator.schema import type_error

SUBCODE_INSUFFICIENT = 2804050
HASHED_RE = re.compile(r"[a-f0-9]{64}(?:\.[A-Za-z0-9_-]{2}|\.[A-Za-z0-9_-]{8})?")
BARE_SHA256_RE = re.compile(r"[a-f0-9]{64}")
SHA256_HEX_CHARS = 64
CLICK_ID_RE = re.compile(r"fb\.\d\.\d{13}\.\S+")

HASHED_KEYS = frozenset(
    {"em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country",
     "f5first", "f5last", "fi", "dobd", "dobm", "doby"}
)  # fmt: skip
NEVER_HASHED_KEYS = frozenset(
    {"client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id", "fb_login_id",
     "lead_id", "anon_id", "madid", "page_id", "page_scoped_user_id", "ctwa_clid",
     "ig_account_id", "ig_sid", "whatsapp_business_account_id", "instagram_business_account_id"}
)  # fmt: skip
# external_id may be raw or hashed; the rest are SDK/partner keys whose rules are UNCERTAIN.
FREE_KEYS = frozenset({"external_id", "app_user_id", "partner_id", "partner_name"})
KNOWN_KEYS = HASHED_KEYS | NEVER_HASHED_KEYS | FREE_KEYS
APP_ONLY_KEYS = frozenset({"madid", "anon_id"})
# Spec §3.3: an event whose only keys are a subset of one of these is rejected.
TOO_BROAD = (
    frozenset({"ct", "country", "st", "zp", "ge", "client_user_agent"}),
    frozenset({"db", "client_user_agent"}),
    frozenset({"fn", "ge"}),
    frozenset({"ln", "ge"}),
)
INSUFFICIENT_TITLE = (
    "You haven't added sufficient customer information parameter data for this event"
)


def check(
    ud: dict[str, Any], source: str, path: str, config: EmulatorConfig, warnings: list[str]
) -> None:
    """Raise ``Refused`` for customer information Meta rejects; warn about what it tolerates."""
    _check_unknown_keys(ud, path, config, warnings)
    present = {key for key, value in ud.items() if value not in (None, "", [])}
    _check_sufficient(present, path)
    for key in present & HASHED_KEYS:
        value = ud[key]
        if type(value) is not str or not HASHED_RE.fullmatch(value):  # fast path: one hash
            _check_hashed(key, value, path, config, warnings)
    for key in present & NEVER_HASHED_KEYS:
        value = ud[key]
        if type(value) is not str or len(value) == SHA256_HEX_CHARS:
            _check_plain(key, value, path, warnings)
    if "client_ip_address" in present and not _parses_as_ip(ud["client_ip_address"]):
        field = f"{path}['client_ip_address']"
        raise refuse_param(f"{field} must be a valid IPv4 or IPv6 address, never hashed.")
    for key in ("fbc", "fbp"):
        if key in present and not CLICK_ID_RE.fullmatch(str(ud[key])):
            message = (
                f"{path}['{key}'] must look like fb.<subdomain index>.<creation time in ms>.<id>; "
                "send the cookie value unchanged."
            )
            _complain(config.malformed_click_ids, f"Invalid {key}", message, warnings)
    if source != "app" and present & APP_ONLY_KEYS:
        warnings.append(f"{path}: madid and anon_id are used only for app events")


def _check_unknown_keys(
    ud: dict[str, Any], path: str, config: EmulatorConfig, warnings: list[str]
) -> None:
    unknown = ud.keys() - KNOWN_KEYS
    if not unknown or config.unknown_user_data_keys == "accept":
        return
    message = f'Unexpected key "{min(unknown)}" on param "{path}".'
    if config.unknown_user_data_keys == "reject":
        raise refuse_param(message)
    warnings.append(message)


def _check_sufficient(present: set[str], path: str) -> None:
    if present and not any(present <= combination for combination in TOO_BROAD):
        return
    message = (
        f"The event at {path} has no customer information parameters, or only a combination "
        "so broad that it is unlikely to be effective for matching. Add em, ph, external_id, "
        "fbp, fbc, or client_ip_address with client_user_agent."
    )
    raise refuse(SUBCODE_INSUFFICIENT, INSUFFICIENT_TITLE, message)


def _check_hashed(
    key: str, value: Any, path: str, config: EmulatorConfig, warnings: list[str]
) -> None:
    for item in value if isinstance(value, list) else (value,):
        if not isinstance(item, str):
            raise type_error(f"{path}['{key}']", "a string or an array of strings")
        if not HASHED_RE.fullmatch(item):
            message = (
                f"{path}['{key}'] must be the SHA-256 of the normalized value "
                "(64 lowercase hex characters)."
            )
            _complain(config.unhashed_pii, "Customer Information Not Hashed", message, warnings)


def _check_plain(key: str, value: Any, path: str, warnings: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise type_error(f"{path}['{key}']", "a string")
    if isinstance(value, str) and BARE_SHA256_RE.fullmatch(value):
        warnings.append(f"{path}['{key}'] looks hashed; Meta needs this key in the clear")


def _parses_as_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, value)
        except (OSError, ValueError):  # ValueError: an embedded NUL
            continue
        return True
    return False


def _complain(mode: str, title: str, message: str, warnings: list[str]) -> None:
    if mode == "reject":
        raise refuse(SUBCODE_PARAM_ERROR, title, message)
    warnings.append(message)
