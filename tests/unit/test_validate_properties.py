"""Properties of the validator on arbitrary JSON: it never raises and changes only event_time."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.validate import RULES, validate_event, validate_request
from tests.unit.test_validate_factory import NOW_S, make_event

KEYS = st.sampled_from(
    ["event_name", "event_time", "user_data", "custom_data", "action_source", "app_data",
     "event_id", "event_source_url", "messaging_channel", "original_event_data", "opt_out",
     "data_processing_options", "data_processing_options_country", "contents", "value",
     "currency", "em", "client_ip_address", "fbc", "extinfo", "advertiser_tracking_enabled",
     "customer_segmentation", "delivery_category", "status", "x y"]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=70)
    | st.sampled_from(["Purchase", "website", "app", "business_messaging", "LDU", "USD", "i2"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=17) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_json_event_yields_findings_never_an_exception(event: Any) -> None:
    """Whatever JSON arrives, validate_event returns catalogued findings and a consistent ok."""
    result = validate_event(event, now_s=NOW_S)
    assert all(f.rule in RULES and f.path.startswith("$") for f in result.findings)
    assert result.ok == (not any(f.is_error for f in result.findings))


@settings(max_examples=120, deadline=None)
@given(
    st.dictionaries(
        KEYS,
        SCALARS | st.lists(SCALARS, max_size=17) | st.dictionaries(KEYS, SCALARS, max_size=4),
        max_size=6,
    )
)
def test_corrected_event_differs_from_the_input_only_in_event_time(
    overrides: dict[str, Any],
) -> None:
    """Validation changes nothing but a milliseconds event_time, and never the input."""
    event = {**make_event(), **overrides}
    before = repr(event)
    result = validate_event(event, now_s=NOW_S)
    assert repr(event) == before
    changed = {k for k in event if result.event.get(k) is not event[k]}
    assert changed <= {"event_time"}
    if changed:
        assert "event_time_milliseconds" in [f.rule for f in result.findings]


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["data", "test_event_code", "junk"]), JSON, max_size=3))
def test_any_request_body_is_checked_without_exceptions(body: dict[str, Any]) -> None:
    """validate_request accepts any JSON object and accounts for every event."""
    result = validate_request(body, now_s=NOW_S)
    data = body.get("data")
    assert len(result.events) == (len(data) if isinstance(data, list) else 0)
    assert all(f.rule in RULES for f in result.all_findings())
