"""Meta's per-event checks in spec §12 order; the first failure refuses the whole request.

These are the emulator's own reference checks, written from the spec and sharing no code with
capigate's validator, so that a bug in one cannot agree with itself. Per event, in order:
schema (§12.3), time (§12.4), action_source requirements (§12.5), then ``user_data`` (§12.6)
and ``custom_data`` (§12.7). Problems Meta tolerates are appended to ``warnings``.
"""

from __future__ import annotations

import math
from typing import Any

from capigate.emulator import custom_data, user_data
from capigate.emulator.config import DAY_S, EVENT_TIME_LIMIT_S, EmulatorConfig
from capigate.emulator.envelope import SUBCODE_PARAM_ERROR, refuse, refuse_param
from capigate.emulator.quick import vouches
from capigate.emulator.schema import check_schema

SUBCODE_TOO_OLD = 2804003
SUBCODE_IN_FUTURE = 2804004
SUBCODE_BAD_EXTINFO = 2804043
SUBCODE_NO_CHANNEL = 2804063
SUBCODE_BM_EVENT_NAME = 2804066
SUBCODE_NO_PAGE = 2804069
SUBCODE_NO_IG_ACCOUNT = 2804079
SUBCODE_BAD_CTWA_CLID = 2804087
SUBCODE_NO_BM_ACCOUNT = 2804116
SUBCODE_DATASET_NO_PAGE = 2804131
SUBCODE_DATASET_NO_WABA = 2804132
EXTINFO_SLOTS = 16
EXTINFO_VERSIONS = frozenset({"a2", "i2"})


def check_events(
    events: list[Any], pixel_id: str, config: EmulatorConfig, now_s: float, warnings: list[str]
) -> None:
    """Raise ``Refused`` at the first event Meta would reject; collect warnings for the rest.

    A request the quick look vouches for passes without a warning; any other goes through
    the full checks, which word the first refusal and every warning.
    """
    if vouches(events, config, now_s):
        return
    for index, event in enumerate(events):
        path = f"$['data'][{index}]"
        check_event(event, path, pixel_id=pixel_id, config=config, now_s=now_s, warnings=warnings)


def check_event(
    event: Any,
    path: str,
    *,
    pixel_id: str,
    config: EmulatorConfig,
    now_s: float,
    warnings: list[str],
) -> None:
    """All checks for one event, in §12 order."""
    event_time = check_schema(event, path, config)
    source = event["action_source"]
    _check_time(event_time, source, path, config, now_s)
    if source == "website":
        _check_website(event, path, config, warnings)
    elif source == "app":
        _check_app(event.get("app_data"), path)
    elif source == "business_messaging":
        _check_business_messaging(event, path, pixel_id, config)
    user_data.check(event["user_data"], source, f"{path}['user_data']", config, warnings)
    custom_data.check(event.get("custom_data"), event["event_name"], path, config)


def _check_time(
    event_time: int, source: str, path: str, config: EmulatorConfig, now_s: float
) -> None:
    max_age_s = config.physical_store_max_age_s if source == "physical_store" else config.max_age_s
    age_s = _age_s(event_time, now_s)
    if age_s > max_age_s:
        days = max_age_s // DAY_S
        message = (
            "The timestamp for this event is too far in the past. Events need to be sent from "
            f"your server within {days} days of when they occurred. Enter a timestamp that has "
            f"occurred within the last {days} days. Param: {path}['event_time']"
        )
        raise refuse(SUBCODE_TOO_OLD, "Event Timestamp Too Old", message)
    if -age_s > config.future_skew_s:
        message = (
            "The timestamp for this event is in the future. Send event_time in Unix seconds "
            f"(not milliseconds), no later than now. Param: {path}['event_time']"
        )
        raise refuse(SUBCODE_IN_FUTURE, "Event Timestamp In The Future", message)


def _age_s(event_time: int, now_s: float) -> float:
    if -EVENT_TIME_LIMIT_S <= event_time <= EVENT_TIME_LIMIT_S:
        return now_s - event_time
    return -math.inf if event_time > 0 else math.inf


def _check_website(
    event: dict[str, Any], path: str, config: EmulatorConfig, warnings: list[str]
) -> None:
    url = event.get("event_source_url")
    if not url and config.website_requires_source_url:
        raise refuse_param(f"The parameter {path}['event_source_url'] is required for website.")
    if url and not url.startswith(("http://", "https://")):
        warnings.append(f"{path}['event_source_url'] should begin with http:// or https://")
    if not event["user_data"].get("client_user_agent") and config.website_requires_user_agent:
        field = f"{path}['user_data']['client_user_agent']"
        raise refuse_param(f"The parameter {field} is required for website.")


def _check_app(app_data: Any, path: str) -> None:
    app_data = app_data if isinstance(app_data, dict) else {}
    if app_data.get("advertiser_tracking_enabled") not in (0, 1):  # True/False equal 1/0
        message = (
            "The parameter 'advertiser_tracking_enabled' is required for the event with the "
            f"action source 'app' (each set to either 0 or 1). Param: {path}['app_data']"
        )
        raise refuse(SUBCODE_PARAM_ERROR, "Missing Advertiser Tracking Enabled Flag", message)
    if app_data.get("application_tracking_enabled", 0) not in (0, 1):
        raise refuse_param(f"{path}['app_data']['application_tracking_enabled'] must be 0 or 1.")
    problem = _extinfo_problem(app_data.get("extinfo"))
    if problem:
        message = f"{problem} Param: {path}['app_data']['extinfo']"
        raise refuse(SUBCODE_BAD_EXTINFO, "Invalid Extinfo", message)


def _extinfo_problem(extinfo: Any) -> str | None:
    if not isinstance(extinfo, list) or len(extinfo) != EXTINFO_SLOTS:
        return "extinfo must be an array of exactly 16 values (empty strings for unknowns)."
    if any(not isinstance(v, str | int) or isinstance(v, bool) for v in extinfo):
        return "Every extinfo value must be a string (or an integer in numeric positions)."
    if extinfo[0] not in EXTINFO_VERSIONS:
        return "extinfo[0] must be the extinfo version: 'a2' (Android) or 'i2' (iOS)."
    if not str(extinfo[4]).strip():
        return "extinfo[4] (OS version) must not be blank."
    return None


def _check_business_messaging(
    event: dict[str, Any], path: str, pixel_id: str, config: EmulatorConfig
) -> None:
    channel = event.get("messaging_channel")
    if not channel:
        message = (
            f"The parameter {path}['messaging_channel'] is required for business_messaging "
            "events: whatsapp, messenger or instagram."
        )
        raise refuse(SUBCODE_NO_CHANNEL, "Missing Messaging Channel", message)
    if event["event_name"] not in config.bm_events:
        message = (
            f"The event name '{event['event_name']}' is not supported for business messaging. "
            f"Use one of: {', '.join(sorted(config.bm_events))}. Param: {path}['event_name']"
        )
        raise refuse(SUBCODE_BM_EVENT_NAME, "Messaging Event Invalid Event Type", message)
    _check_bm_identifiers(event["user_data"], channel, f"{path}['user_data']", pixel_id, config)


def _check_bm_identifiers(
    ud: dict[str, Any], channel: str, path: str, pixel_id: str, config: EmulatorConfig
) -> None:
    """Spec §6.2: the channel's identifiers, and that they fit the dataset."""
    if channel == "instagram":
        if not any(ud.get(key) for key in config.instagram_account_keys):
            keys = " or ".join(config.instagram_account_keys)
            message = f"{keys} is required for Instagram. Param: {path}"
            raise refuse(SUBCODE_NO_IG_ACCOUNT, "Missing IG Account ID Parameter", message)
        return
    waba, page = ud.get("whatsapp_business_account_id"), ud.get("page_id")
    if not waba and not page:
        message = f"The event needs page_id or whatsapp_business_account_id. Param: {path}"
        raise refuse(SUBCODE_NO_BM_ACCOUNT, "Missing Business Messaging Account", message)
    if waba and pixel_id in config.datasets_without_whatsapp:
        message = f"Dataset {pixel_id} has no linked WhatsApp Business account. Param: {path}"
        raise refuse(SUBCODE_DATASET_NO_WABA, "Dataset Has No WhatsApp Account", message)
    if page and pixel_id in config.datasets_without_page:
        message = f"For CTM and CTWA events, the dataset must have an associated Page. {path}"
        raise refuse(SUBCODE_DATASET_NO_PAGE, "Dataset Has No Page", message)
    if channel == "messenger" and not page:
        message = f"page_id is required for Messenger. Param: {path}['page_id']"
        raise refuse(SUBCODE_NO_PAGE, "Missing Page ID", message)
    if channel == "whatsapp" and not ud.get("ctwa_clid"):
        message = f"ctwa_clid from the click-to-WhatsApp referral is required. {path}['ctwa_clid']"
        raise refuse(SUBCODE_BAD_CTWA_CLID, "Messaging Event Invalid Ctwa Clid", message)
