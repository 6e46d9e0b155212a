"""validate_event per action_source: app_data (spec §5) and business messaging (spec §6)."""

from __future__ import annotations

from typing import Any

import pytest

from capigate.findings import Severity
from capigate.validate import OFFICIAL_MESSAGING_NAMES, ValidationOptions
from capigate.validate.options import STRICT_MESSAGING_NAMES
from tests.unit.test_validate_factory import EXTINFO, check, make_event, only, rules

# ---- app ----------------------------------------------------------------------------------------


def app_event(**app_data: Any) -> dict[str, Any]:
    """An app event whose app_data is the valid one updated with ``app_data``."""
    event = make_event("app")
    event["app_data"].update(app_data)
    return event


def test_app_event_without_app_data_is_an_error() -> None:
    """action_source=app needs app_data, and the message offers the chat fallback."""
    finding = only(check(make_event("app", app_data=None)), "app_data_required")
    assert finding.is_error and "chat" in finding.message


def test_app_data_must_be_an_object() -> None:
    """app_data as a list is a type error."""
    assert only(check(make_event("app", app_data=[1])), "field_type").path == "$.app_data"


def test_missing_advertiser_tracking_enabled_is_an_error() -> None:
    """ATE is required on app events (Meta's "Missing Advertiser Tracking Enabled Flag")."""
    event = app_event()
    del event["app_data"]["advertiser_tracking_enabled"]
    finding = only(check(event), "advertiser_tracking_enabled_required")
    assert "Missing Advertiser Tracking Enabled Flag" in finding.message


@pytest.mark.parametrize("flag", ["advertiser_tracking_enabled", "application_tracking_enabled"])
@pytest.mark.parametrize(("value", "ok"), [(0, True), (1, True), (True, True), (False, True),
                                           (2, False), ("1", False), (1.0, False)])  # fmt: skip
def test_tracking_flags_are_zero_or_one(flag: str, value: Any, ok: bool) -> None:
    """Tracking flags accept 0/1 and booleans only."""
    result = check(app_event(**{flag: value}))
    assert result.ok is ok
    if not ok:
        assert only(result, "tracking_flag_invalid").path == f"$.app_data.{flag}"


def test_missing_extinfo_is_an_error() -> None:
    """extinfo is required on app events."""
    event = app_event()
    del event["app_data"]["extinfo"]
    assert only(check(event), "extinfo_required").path == "$.app_data.extinfo"


@pytest.mark.parametrize("length", [0, 15, 17])
def test_extinfo_must_have_16_items(length: int) -> None:
    """Fewer or more than 16 slots is an error."""
    extinfo = (EXTINFO * 2)[:length]
    result = check(app_event(extinfo=extinfo))
    assert only(result, "extinfo_length").is_error


def test_extinfo_must_be_an_array() -> None:
    """extinfo as an object is a type error."""
    assert only(check(app_event(extinfo={"0": "i2"})), "field_type").path == "$.app_data.extinfo"


@pytest.mark.parametrize(("version", "ok"), [("a2", True), ("i2", True), ("i1", False),
                                             ("", False), (["i2"], False)])  # fmt: skip
def test_extinfo_version_is_a2_or_i2(version: Any, ok: bool) -> None:
    """extinfo[0] is the platform version a2 (Android) or i2 (iOS)."""
    result = check(app_event(extinfo=[version, *EXTINFO[1:]]))
    assert ("extinfo_version" in rules(result)) is not ok


@pytest.mark.parametrize("os_version", ["", "   ", None])
def test_blank_os_version_is_2804043(os_version: Any) -> None:
    """extinfo[4] empty is rejected with 2804043."""
    extinfo = list(EXTINFO)
    extinfo[4] = os_version
    finding = only(check(app_event(extinfo=extinfo)), "extinfo_os_version")
    assert finding.path == "$.app_data.extinfo[4]" and "2804043" in finding.message


def test_short_extinfo_does_not_check_the_os_slot() -> None:
    """With fewer than 5 items only the length error is reported for the OS version slot."""
    assert rules(check(app_event(extinfo=["i2", "pkg"]))) == ["extinfo_length"]


@pytest.mark.parametrize(("index", "value", "ok"), [(9, 1179, True), (14, 64.5, True),
                                                    (1, 5, False), (9, True, False),
                                                    (15, None, False)])  # fmt: skip
def test_extinfo_items_are_strings_or_numbers_in_numeric_slots(
    index: int, value: Any, ok: bool
) -> None:
    """Slots 9-14 may be numbers; every other slot is a string."""
    extinfo = list(EXTINFO)
    extinfo[index] = value
    result = check(app_event(extinfo=extinfo))
    assert ("extinfo_item_type" in rules(result)) is not ok


def test_unknown_app_data_key_warns() -> None:
    """madid inside app_data (Segment's habit) is warned about and pointed to user_data."""
    finding = only(check(app_event(madid="x")), "app_data_unknown_key")
    assert finding.severity is Severity.WARNING and "user_data" in finding.message


def test_all_documented_app_data_keys_pass() -> None:
    """Every documented app_data key is accepted."""
    extra = {"campaign_ids": "c", "install_referrer": "r", "installer_package": "p",
             "url_schemes": ["x"], "vendor_id": "v", "windows_attribution_id": "w",
             "application_tracking_enabled": 1}  # fmt: skip
    assert check(app_event(**extra)).findings == ()


def test_app_data_on_a_non_app_event_warns() -> None:
    """app_data is ignored on other action sources: a warning."""
    result = check(make_event("website", app_data={"advertiser_tracking_enabled": 1}))
    assert only(result, "app_data_not_app").severity is Severity.WARNING


# ---- business messaging -------------------------------------------------------------------------

CHANNEL_USER_DATA = {
    "whatsapp": {"whatsapp_business_account_id": "123", "ctwa_clid": "ARAk"},
    "messenger": {"page_id": "456", "page_scoped_user_id": "789"},
    "instagram": {"ig_account_id": "111", "ig_sid": "222"},
}


def messaging_event(channel: str | None = "whatsapp", **overrides: Any) -> dict[str, Any]:
    """A valid business-messaging event on ``channel`` (None drops messaging_channel)."""
    fields: dict[str, Any] = {"user_data": dict(CHANNEL_USER_DATA[channel or "whatsapp"])}
    fields.update(overrides)
    return make_event("business_messaging", messaging_channel=channel, **fields)


@pytest.mark.parametrize("channel", sorted(CHANNEL_USER_DATA))
def test_each_channel_with_its_identifiers_passes(channel: str) -> None:
    """whatsapp, messenger and instagram events with their identifiers are clean."""
    assert check(messaging_event(channel)).findings == ()


def test_instagram_business_account_id_also_satisfies_the_account_rule() -> None:
    """Meta's doc example uses instagram_business_account_id; it is accepted too."""
    event = messaging_event("instagram")
    event["user_data"] = {"instagram_business_account_id": "111", "ig_sid": "222"}
    assert check(event).findings == ()


def test_missing_messaging_channel_is_2804063() -> None:
    """business_messaging without messaging_channel is an error citing 2804063."""
    finding = only(check(messaging_event(None)), "messaging_channel_required")
    assert "2804063" in finding.message


@pytest.mark.parametrize("channel", ["WhatsApp", "sms", 1])
def test_unknown_messaging_channel_is_an_error(channel: Any) -> None:
    """messaging_channel must be one of the three lowercase channels."""
    event = messaging_event("whatsapp")
    event["messaging_channel"] = channel
    assert only(check(event), "messaging_channel_invalid").is_error


@pytest.mark.parametrize(
    ("channel", "drop", "rule", "subcode"),
    [
        ("whatsapp", "whatsapp_business_account_id", "whatsapp_account_missing", "2804116"),
        ("whatsapp", "ctwa_clid", "ctwa_clid_missing", "2804087"),
        ("messenger", "page_id", "page_id_missing", "2804069"),
        ("messenger", "page_scoped_user_id", "page_scoped_user_id_missing", None),
        ("instagram", "ig_account_id", "ig_account_missing", "2804079"),
        ("instagram", "ig_sid", "ig_sid_missing", None),
    ],
)
def test_missing_channel_identifier_is_an_error(
    channel: str, drop: str, rule: str, subcode: str | None
) -> None:
    """Each channel's identifiers are required, with Meta's subcode where one is known."""
    event = messaging_event(channel)
    event["user_data"][drop] = ""
    finding = only(check(event), rule)
    assert finding.is_error and finding.path == f"$.user_data.{drop}"
    if subcode:
        assert subcode in finding.message


def test_messaging_identifiers_are_reported_when_user_data_is_not_an_object() -> None:
    """A broken user_data still yields the channel identifier errors."""
    event = messaging_event("messenger", user_data="x")
    assert {"field_type", "page_id_missing", "page_scoped_user_id_missing"} <= set(
        rules(check(event))
    )


@pytest.mark.parametrize("name", sorted(OFFICIAL_MESSAGING_NAMES))
def test_official_allowlist_accepts_its_14_names(name: str) -> None:
    """Every name on Meta's FAQ list passes in official mode."""
    custom_data = {"value": 1, "currency": "USD"} if name == "Purchase" else None
    assert check(messaging_event(event_name=name, custom_data=custom_data)).ok


@pytest.mark.parametrize(
    "name", ["Lead", "CompleteRegistration", "Subscribe", "Contact", "my_event"]
)
def test_names_outside_the_allowlist_are_2804066(name: str) -> None:
    """Standard pixel names and custom names are rejected for business messaging."""
    finding = only(check(messaging_event(event_name=name)), "messaging_event_name")
    assert "2804066" in finding.message and "LeadSubmitted" in finding.message


@pytest.mark.parametrize("name", sorted(OFFICIAL_MESSAGING_NAMES))
def test_strict_allowlist_accepts_only_the_observed_names(name: str) -> None:
    """In strict mode only the five live-verified names pass."""
    custom_data = {"value": 1, "currency": "USD"} if name == "Purchase" else None
    result = check(
        messaging_event(event_name=name, custom_data=custom_data), messaging_allowlist="strict"
    )
    assert result.ok is (name in STRICT_MESSAGING_NAMES)


def test_strict_allowlist_is_configurable() -> None:
    """strict_messaging_names replaces the observed list (from a plain list, too)."""
    options = {
        "messaging_allowlist": "strict",
        "strict_messaging_names": ["Purchase", "ViewContent"],
    }
    assert check(messaging_event(event_name="ViewContent"), **options).ok
    assert not check(messaging_event(event_name="LeadSubmitted"), **options).ok
    assert ValidationOptions(**options).strict_messaging_names == frozenset(
        {"Purchase", "ViewContent"}
    )  # type: ignore[arg-type]


def test_messaging_channel_on_another_source_warns() -> None:
    """messaging_channel on a website event is ignored by Meta: a warning."""
    result = check(make_event("website", messaging_channel="whatsapp"))
    assert only(result, "messaging_channel_not_messaging").severity is Severity.WARNING
    assert result.ok


def test_non_string_event_name_skips_the_allowlist() -> None:
    """A wrongly typed event_name is reported once, as a type error."""
    assert rules(check(messaging_event(event_name=5))) == ["field_type"]
