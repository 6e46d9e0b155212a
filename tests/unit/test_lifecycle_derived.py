"""Derived events as ingest items: plan key, ids from state, the activity's match keys, context."""

from __future__ import annotations

from capigate.lifecycle import DerivedEvent, UserState, to_item
from capigate.plan import SourceInfo, default_plan, to_meta_event

T0 = 1_763_800_000
STATE = UserState("42", telegram_id="42", user_id="u-1", test_event_code="TEST1")


def test_item_carries_plan_key_time_ids_and_properties() -> None:
    """Without a base activity the item names the user by the ids in the state."""
    event = DerivedEvent("retention_30d", T0, {"days_active": 30})
    assert to_item(event, STATE) == {
        "event": "retention_30d",
        "event_time": T0,
        "user": {"telegram_id": "42", "user_id": "u-1"},
        "properties": {"days_active": 30},
        "context": {"test_event_code": "TEST1"},
    }


def test_item_keeps_the_activity_user_and_context_and_adds_hashed_fields() -> None:
    """Match keys and app context of the causing activity ride along; a session id wins."""
    base = {
        "event": "onboarding_step",
        "user": {"telegram_id": "42", "ip": "203.0.113.9"},
        "context": {"session_id": "s-1", "test_event_code": "OWN"},
    }
    event = DerivedEvent("drop_off", T0, {}, {"phone": "ab" * 32}, session_id="onb-1")
    item = to_item(event, UserState("42", telegram_id="42"), base)
    assert item["user"] == {"telegram_id": "42", "ip": "203.0.113.9", "phone": "ab" * 32}
    assert item["context"] == {"session_id": "onb-1", "test_event_code": "OWN"}


def test_item_without_context_has_no_context_key() -> None:
    """No session, no test code: the item has no context at all."""
    item = to_item(DerivedEvent("first_entry", T0), UserState("42", telegram_id="42"))
    assert "context" not in item


def test_default_plan_maps_derived_items_to_seed_event_ids() -> None:
    """Through the default plan, derived items get seed 000's deterministic ids."""
    plan = default_plan()
    source = SourceInfo("lifecycle", "lifecycle")
    cases = [
        (DerivedEvent("app_open", T0), f"session_42_{T0}"),
        (DerivedEvent("return_7d", T0, {"days_since_start": 3}), "ret7_42"),
        (DerivedEvent("retention_90d", T0, {"days_active": 90}), "retention90_42"),
        (DerivedEvent("first_entry", T0), "firstentry_42"),
        (DerivedEvent("onboarding_complete", T0), "onboarding_42"),
        (DerivedEvent("drop_off", T0, session_id="onb-9"), "dropoff_onb-9"),
    ]
    state = UserState("42", telegram_id="42")
    for event, event_id in cases:
        mapped = to_meta_event(to_item(event, state), plan, source=source, now_s=T0)
        assert mapped.ok, mapped.findings
        assert mapped.event["event_id"] == event_id
