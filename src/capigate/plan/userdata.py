"""Who the event is about: an ingest item's ``user`` (and PII in ``properties``) as Meta keys.

Values stay raw: ``capigate.pipeline`` normalizes and hashes them later.

``external_id`` collects, in this order and without repeats, ``user.external_id`` (one value
or a list), ``user.telegram_id`` and ``user.user_id``: seed 000 says external_id is the
Telegram id, and Meta matches on any item of a list, so an internal user id rides along.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from capigate.findings import Finding, warning
from capigate.models import HASHED_KEYS, UserData
from capigate.validate.custom_data import PII_KEYS
from capigate.validate.rules import child

META_USER_KEYS = frozenset(UserData.__dataclass_fields__)
IDENTITY_KEYS = ("external_id", "telegram_id", "user_id")  # -> external_id, in this order
CONSUMED_USER_KEYS = frozenset({"fbclid"})  # enrichment turns it into fbc before the mapping runs
_LIST_KEYS = frozenset(HASHED_KEYS)  # Meta takes ``string or list<string>`` for these

USER_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "email": "em",
        "phone": "ph",
        "first_name": "fn",
        "last_name": "ln",
        "city": "ct",
        "state": "st",
        "zip": "zp",
        "country": "country",
        "date_of_birth": "db",
        "gender": "ge",
        "ip": "client_ip_address",
        "user_agent": "client_user_agent",
        **{key: key for key in META_USER_KEYS if key != "external_id"},
    }
)

# PII that sources put in properties (seed 000: phone_number, user_name) and where it goes.
# The ones with no Meta match key (username, address) are dropped.
_NAME_PROPERTIES = frozenset({"user_name", "full_name"})  # split into fn (+ ln)
PII_TO_USER: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "email": ("em",),
        "e_mail": ("em",),
        "phone": ("ph",),
        "phone_number": ("ph",),
        "mobile": ("ph",),
        "first_name": ("fn",),
        "last_name": ("ln",),
        "user_name": ("fn", "ln"),
        "full_name": ("fn", "ln"),
        "date_of_birth": ("db",),
        "birthday": ("db",),
    }
)
_USER_NAME = {meta: name for name, meta in USER_KEYS.items() if name != meta}  # ph -> phone
_SKIPPED = frozenset(IDENTITY_KEYS) | CONSUMED_USER_KEYS
# user key -> Meta key for the keys that map one to one (identity keys gather in external_id)
MAPPED_USER_KEYS = {key: meta for key, meta in USER_KEYS.items() if key not in _SKIPPED}
_MAPPED = MAPPED_USER_KEYS


def map_user(user: Mapping[str, Any], findings: list[Finding]) -> dict[str, Any]:
    """``user`` as raw Meta ``user_data``; unknown keys and bad values become warnings."""
    out: dict[str, Any] = {}
    ids = [v for key in IDENTITY_KEYS if key in user for v in _values(user, key, findings)]
    for key, raw in user.items():
        meta = _MAPPED.get(key)
        if meta is None:
            if key not in _SKIPPED:
                message = f"user.{key} is not a match key capigate knows; it was not sent"
                findings.append(warning(child("$.user", key), "unknown_user_key", message, "§3.1"))
            continue
        if type(raw) is str and meta not in out:  # the common case: one text value
            if raw := raw.strip():
                out[meta] = raw
            continue
        _add(out, meta, _values(user, key, findings), key, findings)
    if ids:
        unique = list(dict.fromkeys(ids))
        out["external_id"] = unique[0] if len(unique) == 1 else unique
    return out


def move_pii(
    properties: dict[str, Any], user_data: dict[str, Any], findings: list[Finding]
) -> None:
    """Take personal data out of ``properties``; where Meta has a match key, put it there."""
    for name in [key for key in properties if key in PII_KEYS]:
        value = properties.pop(name)
        path = child("$.properties", name)
        targets = PII_TO_USER.get(name)
        if targets is None:
            message = f"{name} is personal data with no Meta match key; it was not sent"
            findings.append(warning(path, "pii_dropped", message, "DESIGN Seed conflicts"))
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            if value is not None:
                message = f"{name} must be a string; it was not sent"
                findings.append(warning(path, "pii_dropped", message, "DESIGN Seed conflicts"))
            continue
        if not str(value).strip():
            continue
        parts = _split_name(str(value)) if name in _NAME_PROPERTIES else [str(value).strip()]
        for key, part in zip(targets, parts, strict=False):
            user_data.setdefault(key, part)
        sent = " and ".join(f"user_data.{key}" for key in targets[: len(parts)])
        hint = f"user.{_USER_NAME[targets[0]]}"
        message = (
            f"{name} is personal data: sent hashed as {sent}, never in custom_data; "
            f"send it as {hint} instead"
        )
        findings.append(warning(path, "pii_moved", message, "DESIGN Seed conflicts"))


def _split_name(value: str) -> list[str]:
    """``"Ali Valiyev"`` -> first name and the rest as last name."""
    first, _, rest = value.strip().partition(" ")
    return [first, rest.strip()] if rest.strip() else [first]


def _add(out: dict[str, Any], meta: str, values: list[Any], key: str, found: list[Finding]) -> None:
    if not values:
        return
    if meta in _LIST_KEYS:
        known = out.get(meta, [])
        merged = list(known) if isinstance(known, list) else [known]
        merged.extend(v for v in values if v not in merged)
        out[meta] = merged[0] if len(merged) == 1 else merged
    elif meta not in out:
        out[meta] = values[0]
        if len(values) > 1:
            message = f"user_data.{meta} takes one value; the first was sent"
            found.append(warning(child("$.user", key), "user_value_list", message, "§3.1"))


def _values(user: Mapping[str, Any], key: str, findings: list[Finding]) -> list[Any]:
    """The non-empty scalar values under ``key`` (a value or a list), as strings or ints."""
    raw = user[key]
    items = raw if isinstance(raw, list) else [raw]
    values: list[Any] = []
    for item in items:
        if isinstance(item, str):
            if item.strip():
                values.append(item.strip())
        elif isinstance(item, int | float) and not isinstance(item, bool):
            values.append(str(int(item)) if float(item).is_integer() else str(item))
        elif item is not None:
            message = f"user.{key} must be a string or number (or a list of them)"
            findings.append(warning(child("$.user", key), "user_value_type", message, "§3.1"))
    return values
