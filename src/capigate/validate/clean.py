"""The pipeline's fast path: the wire form of an event that breaks no rule, in one walk.

``clean_wire`` answers for the common event: the usual keys with values of the usual types
(strings, integer seconds, numbers, 0/1 flags, a 16-string extinfo). It returns exactly the dict
``parse_wire`` would build, and only when neither ``parse_wire`` nor ``check_event`` would report
anything; for every other event it returns ``None`` and the pipeline takes the long way, which
finds and words the problems. So it never decides a finding, it only recognises their absence,
which is why it may be conservative (returning ``None`` is always right) but never generous.
Rules that need more than a type test reuse the validator's own functions.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeGuard

from capigate.findings import Finding
from capigate.models.parse import CONTENT, CUSTOM_DATA
from capigate.models.schema import is_empty
from capigate.normalize.ip import SPECIAL_FIRST_OCTETS, IpVerdict, classify
from capigate.validate.app import EXTINFO_LENGTH, EXTINFO_OS_VERSION_INDEX, EXTINFO_VERSIONS
from capigate.validate.currency import ISO_4217_CODES, is_currency
from capigate.validate.custom_data import PII_KEYS
from capigate.validate.custom_fields import CONTENT_TYPES
from capigate.validate.event import ACTION_SOURCES
from capigate.validate.event_time import MILLISECONDS_ABOVE
from capigate.validate.fields import EVENT_ID_MAX_CHARS, HTTP_URL
from capigate.validate.messaging import (
    _IDENTIFIERS,
    MESSAGING_CHANNELS,
    OFFICIAL_MESSAGING_NAMES,
    check_messaging,
)
from capigate.validate.names import STANDARD_EVENT_NAMES, check_event_name
from capigate.validate.options import ValidationOptions
from capigate.validate.user_data import (
    _BROAD_KEYS,
    _NORMALIZED_CHECKS,
    LEAD_ID_KEY,
    _check_app_only,
    _check_client_ip,
    _check_id,
    _check_text,
    _no_check,
    normalized_user_data_is_clean,
)

MAX_CACHED_NAMES = 4096

# Event keys the fast path knows; any other key sends the event the long way.
_EVENT_KEYS = frozenset(
    {"event_name", "event_time", "event_id", "action_source", "event_source_url",
     "referrer_url", "messaging_channel", "user_data", "custom_data", "app_data"}
)  # fmt: skip
_CUSTOM_RANK = CUSTOM_DATA.rank
_CONTENT_KEYS = frozenset(CONTENT.order[:3])  # id, quantity, item_price
_APP_KEYS = frozenset({"advertiser_tracking_enabled", "application_tracking_enabled", "extinfo"})
_FLAGS = (0, 1)


def clean_wire(
    event: dict[str, Any], user_data: dict[str, Any], now_s: float, options: ValidationOptions
) -> dict[str, Any] | None:
    """The canonical wire dict of ``event`` with ``user_data`` (from ``capigate.normalize``)
    in place of its own, or ``None`` unless the event is free of findings."""
    wire = _head(event, now_s, options)
    if wire is None or not (_add_urls(event, wire) and _add_channel(event, wire)):
        return None
    source = wire["action_source"]
    if not normalized_user_data_is_clean(user_data, source, options.require_baseline_match):
        return None
    if source == "website" and not user_data.get("client_user_agent"):
        return None
    wire["user_data"] = user_data
    if not _add_data(event, wire, wire["event_name"], source):
        return None
    out: list[Finding] = []
    if source == "business_messaging":
        check_messaging(wire, True, options, out)
    return None if out else wire


def _head(event: dict[str, Any], now_s: float, options: ValidationOptions) -> dict[str, Any] | None:
    """event_name, event_time, event_id and action_source, when all four are right and the
    event has no key the fast path does not know."""
    if not event.keys() <= _EVENT_KEYS:
        return None
    name, seconds = event.get("event_name"), event.get("event_time")
    source, event_id = event.get("action_source"), event.get("event_id")
    if type(name) is not str or type(seconds) is not int or type(event_id) is not str:
        return None
    if type(source) is not str or source not in ACTION_SOURCES:
        return None
    if not 0 < len(event_id) <= EVENT_ID_MAX_CHARS or not _clean_name(name, options):
        return None
    if not _in_window(seconds, source, now_s, options):
        return None
    return {
        "event_name": name,
        "event_time": seconds,
        "event_id": event_id,
        "action_source": source,
    }


def _in_window(seconds: int, source: str, now_s: float, options: ValidationOptions) -> bool:
    store = source == "physical_store"
    max_age_s = options.physical_store_max_age_s if store else options.max_age_s
    if not -MILLISECONDS_ABOVE <= seconds <= MILLISECONDS_ABOVE:
        return False  # milliseconds, or no time at all: the long way says which
    age_s = now_s - seconds
    return -age_s <= options.future_skew_s and age_s <= max_age_s


def _clean_name(name: str, options: ValidationOptions) -> bool:
    return name in STANDARD_EVENT_NAMES or _clean_custom_name(name, options.custom_name_style)


@lru_cache(maxsize=MAX_CACHED_NAMES)  # names repeat; the regexes and casefold need not
def _clean_custom_name(name: str, style: str) -> bool:
    out: list[Finding] = []
    if name:
        check_event_name(name, _STYLES[style], out)
    return bool(name) and not out


_STYLES = {
    "meta": ValidationOptions(custom_name_style="meta"),
    "strict": ValidationOptions(custom_name_style="strict"),
}


def _add_urls(event: dict[str, Any], wire: dict[str, Any]) -> bool:
    url = event.get("event_source_url")
    if url is None:
        if wire["action_source"] == "website":
            return False
    elif type(url) is str and HTTP_URL.match(url):
        wire["event_source_url"] = url
    else:
        return False
    referrer = event.get("referrer_url")
    if referrer is not None:
        if type(referrer) is not str:
            return False
        if referrer:
            wire["referrer_url"] = referrer
    return True


def _add_channel(event: dict[str, Any], wire: dict[str, Any]) -> bool:
    channel = event.get("messaging_channel")
    if channel is None:
        return True
    if type(channel) is not str or wire["action_source"] != "business_messaging":
        return False
    wire["messaging_channel"] = channel
    return True


def _add_data(event: dict[str, Any], wire: dict[str, Any], name: str, source: str) -> bool:
    custom = event.get("custom_data")
    if custom is None:
        if name == "Purchase":
            return False
    else:
        custom = _clean_custom(custom, name)
        if custom is None:
            return False
        if custom:
            wire["custom_data"] = custom
    app = event.get("app_data")
    if source != "app":
        return app is None
    app = _clean_app(app)
    if app is None:
        return False
    wire["app_data"] = app
    return True


def _clean_custom(custom: object, name: str) -> dict[str, Any] | None:
    if type(custom) is not dict:
        return None
    keys = tuple(custom)
    plan = _custom_plans.get(keys)
    if plan is None:
        plan = _custom_plan(keys)
    if not plan:
        return None
    out: dict[str, Any] = {}
    for key, clean in plan:
        value = custom[key]
        if value is None:
            continue
        value = clean(value)
        if value is _BAD:
            return None
        if value is not _EMPTY:
            out[key] = value
    if "currency" not in out and ("value" in out or name == "Purchase"):
        return None
    if "value" not in out and name == "Purchase":
        return None
    return out


MAX_CACHED_PLANS = 1024
MAX_CACHED_KEY_CHARS = 64
MAX_CACHED_PLAN_KEYS = 32
_BAD, _EMPTY = object(), object()
# Per custom_data key sequence: (key, cleaner) in wire order, or () to take the long way.
_custom_plans: dict[tuple[str, ...], tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def _custom_plan(keys: tuple[str, ...]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    standard = sorted((key for key in keys if key in _CUSTOM_RANK), key=_CUSTOM_RANK.__getitem__)
    extra = [key for key in keys if key not in _CUSTOM_RANK]
    plan: tuple[tuple[str, Callable[[Any], Any]], ...] = ()
    if set(standard) <= _CUSTOM_CLEANERS.keys() and PII_KEYS.isdisjoint(extra):
        plan = (
            *((key, _CUSTOM_CLEANERS[key]) for key in standard),
            *((key, _custom_property) for key in extra),
        )
    if len(keys) > MAX_CACHED_PLAN_KEYS or not all(
        type(key) is str and len(key) <= MAX_CACHED_KEY_CHARS for key in extra
    ):
        return plan  # property names are the sender's: only a few short ones are remembered
    if len(_custom_plans) >= MAX_CACHED_PLANS:
        _custom_plans.clear()
    _custom_plans[keys] = plan
    return plan


def _custom_property(value: Any) -> Any:
    return value if value or not is_empty(value) else _EMPTY


def _value(value: Any) -> Any:
    return value if _is_amount(value) and value >= 0 else _BAD


def _currency(value: Any) -> Any:
    return value if type(value) is str and is_currency(value) else _BAD


def _content_type(value: Any) -> Any:
    return value if type(value) is str and value in CONTENT_TYPES else _BAD


def _order_id(value: Any) -> Any:
    return value if type(value) is str and value else _BAD


def _contents(value: Any) -> Any:
    contents = _clean_contents(value) if type(value) is list and value else None
    return _BAD if contents is None else contents


_CUSTOM_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "value": _value,
    "currency": _currency,
    "content_type": _content_type,
    "contents": _contents,
    "order_id": _order_id,
}


def _is_amount(value: Any) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _clean_contents(items: list[Any]) -> list[dict[str, Any]] | None:
    out = []
    for item in items:
        if type(item) is not dict or not item.keys() <= _CONTENT_KEYS:
            return None
        item_id, quantity, price = item.get("id"), item.get("quantity"), item.get("item_price")
        if type(item_id) is not str or not item_id or type(quantity) is not int or quantity < 1:
            return None
        clean = {"id": item_id, "quantity": quantity}
        if price is not None:
            if not _is_amount(price):
                return None
            clean["item_price"] = price
        out.append(clean)
    return out


def _clean_app(app: object) -> dict[str, Any] | None:
    if type(app) is not dict or not app.keys() <= _APP_KEYS:
        return None
    advertiser = app.get("advertiser_tracking_enabled")
    application = app.get("application_tracking_enabled")
    extinfo = app.get("extinfo")
    if not _is_flag(advertiser) or not (application is None or _is_flag(application)):
        return None
    if type(extinfo) is not list or len(extinfo) != EXTINFO_LENGTH:
        return None
    if not all(type(item) is str for item in extinfo) or extinfo[0] not in EXTINFO_VERSIONS:
        return None
    if not extinfo[EXTINFO_OS_VERSION_INDEX].strip():
        return None
    out: dict[str, Any] = {"advertiser_tracking_enabled": int(advertiser)}
    if application is not None:
        out["application_tracking_enabled"] = int(application)
    out["extinfo"] = list(extinfo)
    return out


def _is_flag(value: object) -> TypeGuard[int]:
    return type(value) in (int, bool) and value in _FLAGS


def native_tables() -> dict[str, object]:
    """What ``capigate._cwire.configure`` needs to answer as ``clean_wire`` does: the same
    tables, caches and rule functions, so that C and Python share one definition."""
    return {
        "event_keys": _EVENT_KEYS,
        "action_sources": ACTION_SOURCES,
        "standard_event_names": STANDARD_EVENT_NAMES,
        "clean_custom_name": _clean_custom_name,
        "url_match": HTTP_URL.match,
        "currencies": ISO_4217_CODES,
        "is_currency": is_currency,
        "content_types": CONTENT_TYPES,
        "custom_plans": _custom_plans,
        "custom_plan": _custom_plan,
        "clean_value": _value,
        "clean_currency": _currency,
        "clean_content_type": _content_type,
        "clean_contents": _contents,
        "clean_order_id": _order_id,
        "clean_property": _custom_property,
        "bad": _BAD,
        "empty": _EMPTY,
        "content_keys": _CONTENT_KEYS,
        "app_keys": _APP_KEYS,
        "flags": _FLAGS,
        "extinfo_versions": EXTINFO_VERSIONS,
        "extinfo_length": EXTINFO_LENGTH,
        "extinfo_os_version_index": EXTINFO_OS_VERSION_INDEX,
        "event_id_max_chars": EVENT_ID_MAX_CHARS,
        "milliseconds_above": MILLISECONDS_ABOVE,
        "normalized_checks": _NORMALIZED_CHECKS,
        "check_text": _check_text,
        "check_app_only": _check_app_only,
        "check_id": _check_id,
        "check_client_ip": _check_client_ip,
        "no_check": _no_check,
        "lead_id_key": LEAD_ID_KEY,
        "broad_keys": _BROAD_KEYS,
        "user_data_is_clean": normalized_user_data_is_clean,
        "classify": classify,
        "ip_public": IpVerdict.PUBLIC,
        "special_first_octets": SPECIAL_FIRST_OCTETS,
        "public_ipv6_first_hextets": _public_ipv6_first_hextets(),
        "check_messaging": check_messaging,
        "official_messaging_names": OFFICIAL_MESSAGING_NAMES,
        "messaging_channels": MESSAGING_CHANNELS,
        "messaging_identifiers": _IDENTIFIERS,
    }


IPV6_HEXTET_VALUES = 1 << 16
IPV6_HEXTET_SHIFT = 112


def _public_ipv6_first_hextets() -> bytes:
    """Per first hextet of an IPv6 address, 1 when every address under it is global for this
    Python's ``ipaddress`` (so ``classify`` says PUBLIC): no special-purpose network of its
    tables reaches into the block, and an address of such a block is global. The blocks of
    no special network all answer alike, so one of them stands for all."""
    special = bytearray(IPV6_HEXTET_VALUES)
    special[0] = 1  # IPv4-mapped and -compatible forms live here
    constants = ipaddress._IPv6Constants  # type: ignore[attr-defined]  # the stdlib's tables
    tables = vars(constants).values()
    for value in tables:
        for network in value if isinstance(value, list | tuple | frozenset) else (value,):
            if isinstance(network, ipaddress.IPv6Network):
                first = int(network.network_address) >> IPV6_HEXTET_SHIFT
                last = int(network.broadcast_address) >> IPV6_HEXTET_SHIFT
                special[first : last + 1] = b"\x01" * (last - first + 1)
    plain = special.find(0)
    if plain < 0 or not ipaddress.ip_address(f"{plain:x}::1").is_global:
        return bytes(IPV6_HEXTET_VALUES)
    return bytes(special.translate(bytes.maketrans(b"\x00\x01", b"\x01\x00")))
