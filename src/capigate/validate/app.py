"""app_data (spec §5): what Meta requires of ``action_source=app`` events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.rules import child, found, kind

APP_DATA_KEYS = frozenset(
    {"advertiser_tracking_enabled", "application_tracking_enabled", "extinfo", "campaign_ids",
     "install_referrer", "installer_package", "url_schemes", "vendor_id",
     "windows_attribution_id", "consider_views", "include_dwell_data", "include_video_data",
     "receipt_data"}
)  # fmt: skip
TRACKING_FLAGS = ("advertiser_tracking_enabled", "application_tracking_enabled")
EXTINFO_LENGTH = 16
EXTINFO_VERSIONS = frozenset({"a2", "i2"})  # Android, iOS
EXTINFO_OS_VERSION_INDEX = 4
# Screen and storage sizes; one Meta page types them int64, another string (spec §5.1).
EXTINFO_NUMERIC_INDEXES = frozenset(range(9, 15))

PATH = "$.app_data"
EXTINFO_PATH = f"{PATH}.extinfo"


def check_app_data(app_data: object, out: list[Finding]) -> None:
    """Append findings for the ``app_data`` of an app event (``None`` when it is missing)."""
    if app_data is None:
        out.append(
            found(
                "app_data_required",
                PATH,
                "action_source=app needs app_data with advertiser_tracking_enabled and the "
                "16-item extinfo. Add them, or use another action_source (e.g. chat).",
            )
        )
        return
    if not isinstance(app_data, Mapping):
        out.append(found("field_type", PATH, f"app_data must be an object, not {kind(app_data)}."))
        return
    _check_flags(app_data, out)
    extinfo = app_data.get("extinfo")
    if extinfo is None:
        out.append(
            found(
                "extinfo_required",
                EXTINFO_PATH,
                "action_source=app needs app_data.extinfo: 16 strings, [0] 'a2' or 'i2', "
                "[4] the OS version; fill unknown slots with ''.",
            )
        )
    else:
        _check_extinfo(extinfo, out)
    for key in app_data:
        if key not in APP_DATA_KEYS:
            out.append(
                found(
                    "app_data_unknown_key",
                    child(PATH, key),
                    f"app_data.{key} is not an app_data field Meta documents; remove it "
                    "(madid and anon_id belong in user_data).",
                )
            )


def _check_flags(app_data: Mapping[str, Any], out: list[Finding]) -> None:
    if app_data.get("advertiser_tracking_enabled") is None:
        out.append(
            found(
                "advertiser_tracking_enabled_required",
                f"{PATH}.advertiser_tracking_enabled",
                "Missing Advertiser Tracking Enabled Flag: app events need "
                "app_data.advertiser_tracking_enabled set to 0 or 1 (the iOS ATT status).",
            )
        )
    for flag in TRACKING_FLAGS:
        value = app_data.get(flag)
        if value is not None and not (value in (0, 1) and isinstance(value, int)):
            out.append(
                found(
                    "tracking_flag_invalid",
                    f"{PATH}.{flag}",
                    f"app_data.{flag} must be 0 or 1 (or false/true).",
                )
            )


def _check_extinfo(extinfo: object, out: list[Finding]) -> None:
    if not isinstance(extinfo, list):
        out.append(
            found("field_type", EXTINFO_PATH, f"extinfo must be an array, not {kind(extinfo)}.")
        )
        return
    if len(extinfo) != EXTINFO_LENGTH:
        out.append(
            found(
                "extinfo_length",
                EXTINFO_PATH,
                f"extinfo has {len(extinfo)} items; Meta needs exactly {EXTINFO_LENGTH}, in "
                "order. Fill unknown slots with ''.",
            )
        )
    for i, item in enumerate(extinfo):
        numeric_ok = i in EXTINFO_NUMERIC_INDEXES and isinstance(item, int | float)
        if not isinstance(item, str) and not (numeric_ok and not isinstance(item, bool)):
            out.append(
                found(
                    "extinfo_item_type",
                    f"{EXTINFO_PATH}[{i}]",
                    f"extinfo[{i}] must be a string, not {kind(item)}.",
                )
            )
    if not extinfo:
        return
    version = extinfo[0]
    if not (isinstance(version, str) and version in EXTINFO_VERSIONS):
        out.append(
            found(
                "extinfo_version",
                f"{EXTINFO_PATH}[0]",
                "extinfo[0] must be 'a2' (Android) or 'i2' (iOS).",
            )
        )
    if len(extinfo) > EXTINFO_OS_VERSION_INDEX and _is_blank(extinfo[EXTINFO_OS_VERSION_INDEX]):
        out.append(
            found(
                "extinfo_os_version",
                f"{EXTINFO_PATH}[{EXTINFO_OS_VERSION_INDEX}]",
                "extinfo[4] (the OS version, e.g. '17.2') must not be empty.",
            )
        )


def _is_blank(item: object) -> bool:
    return item is None or (isinstance(item, str) and not item.strip())
