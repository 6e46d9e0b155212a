"""Valid Meta events per action_source, shared by the validator tests, and proof they are clean."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from capigate.findings import Finding
from capigate.validate import ACTION_SOURCES, EventCheck, validate_event

NOW_S = 1_763_800_000
HOUR_S = 3_600
DAY_S = 86_400


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


EXTINFO = ["i2", "com.example.app", "1.0", "1.0 long", "17.2", "iPhone15,2", "en_US", "UTC",
           "Carrier", "1179", "2556", "3", "6", "128", "64", "Asia/Tashkent"]  # fmt: skip

_BY_SOURCE: dict[str, dict[str, Any]] = {
    "website": {
        "event_source_url": "https://example.com/pricing",
        "user_data": {
            "em": sha("john@example.com"),
            "client_user_agent": "Mozilla/5.0",
            "client_ip_address": "93.184.216.34",
            "fbp": "fb.1.1596403881668.1116446470",
        },
    },
    "app": {
        "app_data": {"advertiser_tracking_enabled": 1, "extinfo": list(EXTINFO)},
        "user_data": {"madid": "38400000-8cf0-11bd-b23e-10b96e40000d", "em": sha("a@b.co")},
    },
    "business_messaging": {
        "event_name": "LeadSubmitted",
        "messaging_channel": "whatsapp",
        "user_data": {"whatsapp_business_account_id": "1234567890", "ctwa_clid": "ARAkLkA8r"},
    },
}


def make_event(action_source: str = "website", **overrides: Any) -> dict[str, Any]:
    """A valid event for ``action_source``; keyword arguments replace (or, as None, drop) keys."""
    event: dict[str, Any] = {
        "event_name": "ViewContent",
        "event_time": NOW_S - HOUR_S,
        "event_id": "viewcontent_s-81f2",
        "action_source": action_source,
        "user_data": {"em": sha("john@example.com"), "external_id": sha("u-42")},
    }
    event.update(copy.deepcopy(_BY_SOURCE.get(action_source, {})))
    for key, value in overrides.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def check(event: Any, **options: Any) -> EventCheck:
    """validate_event at NOW_S, with ValidationOptions built from keyword arguments."""
    from capigate.validate import ValidationOptions

    return validate_event(event, now_s=NOW_S, options=ValidationOptions(**options))


def rules(result: EventCheck) -> list[str]:
    return [f.rule for f in result.findings]


def only(result: EventCheck, rule: str) -> Finding:
    """The single finding of ``rule`` in ``result``."""
    matches = [f for f in result.findings if f.rule == rule]
    assert len(matches) == 1, f"expected one {rule}, got {rules(result)}"
    return matches[0]


@pytest.mark.parametrize("action_source", sorted(ACTION_SOURCES))
def test_factory_event_is_clean_for_every_action_source(action_source: str) -> None:
    """The base event of every action_source passes with no finding at all."""
    result = check(make_event(action_source))
    assert result.findings == ()
    assert result.ok


def test_factory_overrides_replace_and_drop_keys() -> None:
    """make_event replaces keys and drops those set to None, without sharing nested dicts."""
    event = make_event(event_id=None, event_name="Lead")
    assert "event_id" not in event
    assert event["event_name"] == "Lead"
    event["user_data"]["em"] = "x"
    assert make_event()["user_data"]["em"] != "x"
