"""``app_data`` for ``action_source=app`` events, from what the ingest item's context says.

Meta rejects app events without ``advertiser_tracking_enabled`` and a 16-slot ``extinfo``
whose slot 0 is ``a2``/``i2`` and slot 4 the OS version (spec §5, §5.1). A native app sends
``context.app`` (its fields are :class:`capigate.models.ExtInfo`'s names, or a ready
``extinfo`` list); a Telegram mini app sends ``context.platform`` (``Telegram.WebApp.platform``)
and its user agent gives the OS version. Anything else cannot describe a device: the caller
falls back to another action source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from capigate.models import EXTINFO_SLOTS, ExtInfo

SLOT_NAMES = tuple(ExtInfo.__dataclass_fields__)
_ALIASES = {"package": "package_name", "app_version": "short_version", "device": "device_model"}
_VERSIONS = {"android": "a2", "ios": "i2"}  # extinfo[0]
_ANDROID = re.compile(r"Android[ /]?(\d+(?:\.\d+)*)")
_IOS = re.compile(r"(?:iPhone|iPad|CPU) OS (\d+(?:_\d+)*)")
_TELEGRAM_ANDROID = re.compile(r"Telegram-Android/[\d.]+ \(([^;]+);")  # "(Google Pixel 8; ..."
_FLAGS = ("advertiser_tracking_enabled", "application_tracking_enabled")

AppData = dict[str, Any]


def build_app_data(context: Mapping[str, Any], user_agent: object) -> tuple[AppData | None, str]:
    """``(app_data, "")``, or ``(None, why)`` when the context cannot describe the device."""
    app = context.get("app")
    app = app if isinstance(app, Mapping) else {}
    ua = user_agent if isinstance(user_agent, str) else ""
    extinfo, problem = _extinfo(app, context, ua)
    if extinfo is None:
        return None, problem
    app_data: AppData = {"advertiser_tracking_enabled": _flag(app, context, _FLAGS[0]) or 0}
    tracking = _flag(app, context, _FLAGS[1])
    if tracking is not None:
        app_data["application_tracking_enabled"] = tracking
    app_data["extinfo"] = extinfo
    return app_data, ""


def _extinfo(
    app: Mapping[str, Any], context: Mapping[str, Any], ua: str
) -> tuple[list[str] | None, str]:
    given = app.get("extinfo")
    if given is not None:
        return _given_extinfo(given)
    platform = app.get("platform") or context.get("platform") or _platform_from(ua)
    version = _VERSIONS.get(str(platform).lower()) if platform else None
    if version is None:
        if not platform:
            return None, "the item has no context.platform (android or ios)"
        return None, f"platform {platform!r} is not android or ios"
    slots = {name: _text(app.get(name)) for name in SLOT_NAMES}
    slots.update({slot: _text(app[alias]) for alias, slot in _ALIASES.items() if alias in app})
    slots["version"] = version
    slots["os_version"] = slots["os_version"] or _os_version(ua, version)
    if not slots["os_version"]:
        return None, "no OS version was found (context.app.os_version or a mobile user agent)"
    slots["device_model"] = slots["device_model"] or _device_model(ua)
    slots["locale"] = slots["locale"] or _text(context.get("locale"))
    return ExtInfo(**slots).to_list(), ""


def _given_extinfo(given: object) -> tuple[list[str] | None, str]:
    if not isinstance(given, list) or len(given) != EXTINFO_SLOTS:
        return None, f"context.app.extinfo must be a list of {EXTINFO_SLOTS} values"
    values = [_text(value) for value in given]
    if values[0] not in _VERSIONS.values() or not values[4]:
        return None, "context.app.extinfo needs a2/i2 at [0] and the OS version at [4]"
    return values, ""


def _platform_from(ua: str) -> str | None:
    if _ANDROID.search(ua):
        return "android"
    return "ios" if _IOS.search(ua) else None


def _os_version(ua: str, version: str) -> str:
    match = (_ANDROID if version == "a2" else _IOS).search(ua)
    return match.group(1).replace("_", ".") if match else ""


def _device_model(ua: str) -> str:
    match = _TELEGRAM_ANDROID.search(ua)
    return match.group(1).strip() if match else ""


def _flag(app: Mapping[str, Any], context: Mapping[str, Any], name: str) -> int | None:
    """0/1 from ``context.app.<name>`` or ``context.<name>``; anything but true/1 is 0."""
    value = app.get(name, context.get(name))
    if value is None:
        return None
    return 1 if value == 1 else 0  # True == 1


def _text(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()
