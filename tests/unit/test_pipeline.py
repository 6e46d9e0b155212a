"""The pure pipeline: raw user_data in, the hashed payload Meta receives out, with findings."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from capigate.errors import ConfigError
from capigate.models import ServerEvent
from capigate.payload import event_to_wire
from capigate.pipeline import PipelineOptions, prepare, prepare_many
from capigate.validate import ValidationOptions
from tests.unit.wire_samples import NOW_S

UZ = PipelineOptions(default_region="UZ")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _raw_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_name": "Purchase",
        "event_time": int(NOW_S) - 60,
        "event_id": "sub_t-1",
        "action_source": "website",
        "event_source_url": "https://example.com/pay",
        "user_data": {
            "em": " John_Smith@gmail.com ",
            "ph": "90 123 45 67",
            "fn": "Valéry",
            "country": "Uzbekistan",
            "external_id": "U-42",
            "client_ip_address": "84.54.70.5",
            "client_user_agent": "Mozilla/5.0 (iPhone)",
            "fbp": "fb.1.1596403881668.1116446470",
        },
        "custom_data": {"value": "19.99", "currency": "USD", "plan": "monthly"},
    }
    event.update(overrides)
    return event


def test_raw_pii_is_normalized_and_hashed_in_the_payload() -> None:
    """Contact fields arrive as SHA-256 of Meta's normalized form; IP, UA and fbp stay clear."""
    result = prepare(_raw_event(), now_s=NOW_S, options=UZ)
    assert result.ok, result.findings
    user_data = result.payload["user_data"]
    assert user_data["em"] == "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    assert user_data["ph"] == _sha("998901234567")
    assert user_data["fn"] == _sha("valéry")
    assert user_data["country"] == _sha("uz")
    assert user_data["client_ip_address"] == "84.54.70.5"
    assert user_data["client_user_agent"] == "Mozilla/5.0 (iPhone)"
    assert user_data["fbp"] == "fb.1.1596403881668.1116446470"


def test_payload_is_canonical_wire_form() -> None:
    """The payload equals the model's wire form: typed values, stable order, custom keys last."""
    result = prepare(_raw_event(), now_s=NOW_S, options=UZ)
    assert result.payload == event_to_wire(ServerEvent.from_dict(result.payload))
    assert list(result.payload) == [
        "event_name", "event_time", "event_id", "action_source", "event_source_url",
        "user_data", "custom_data",
    ]  # fmt: skip
    assert result.payload["custom_data"] == {"value": 19.99, "currency": "USD", "plan": "monthly"}


def test_quality_is_estimated_on_the_payload() -> None:
    """The estimate sees the hashed keys that survived normalization."""
    result = prepare(_raw_event(), now_s=NOW_S, options=UZ)
    assert result.quality.keys == tuple(result.payload["user_data"])
    assert result.quality.score == 10


def test_without_a_default_region_a_national_phone_gets_a_warning() -> None:
    """A number without country code is kept as digits and flagged (conformance README)."""
    result = prepare(_raw_event(), now_s=NOW_S)
    assert result.ok
    assert ("$.user_data.ph", "phone_no_country_code") in {
        (f.path, f.rule) for f in result.findings
    }


def test_an_invalid_value_is_dropped_and_the_event_still_goes() -> None:
    """A bad email is dropped with a warning at its path; the rest is sent."""
    raw = _raw_event()
    raw["user_data"]["em"] = "not-an-email"
    result = prepare(raw, now_s=NOW_S, options=UZ)
    assert result.ok
    assert "em" not in result.payload["user_data"]
    dropped = [f for f in result.findings if f.path == "$.user_data.em"]
    assert dropped and not dropped[0].is_error


def test_milliseconds_are_converted_by_the_validator() -> None:
    """A milliseconds event_time reaches Meta in seconds, with a warning."""
    result = prepare(_raw_event(event_time=int(NOW_S - 60) * 1000), now_s=NOW_S, options=UZ)
    assert result.ok
    assert result.payload["event_time"] == int(NOW_S) - 60
    assert "event_time_milliseconds" in {f.rule for f in result.findings}


@pytest.mark.parametrize(
    ("event_time", "rule"),
    [
        (10**400, "event_time_in_future"),
        (-(10**400), "event_time_too_old"),
        (10**15 * 1000, "event_time_in_future"),
        (-(10**12), "event_time_too_old"),
    ],
)
def test_an_event_time_beyond_any_date_is_reported_not_raised(event_time: int, rule: str) -> None:
    """An integer too large for a float age is an error finding, never an OverflowError."""
    result = prepare(_raw_event(event_time=event_time), now_s=NOW_S, options=UZ)
    assert not result.ok
    assert rule in {f.rule for f in result.findings if f.is_error}


def test_rule_errors_keep_the_payload_but_mark_it_not_ok() -> None:
    """An event older than 7 days is built but not sendable."""
    result = prepare(_raw_event(event_time=int(NOW_S) - 8 * 86_400), now_s=NOW_S, options=UZ)
    assert not result.ok
    assert result.payload["event_name"] == "Purchase"
    assert "event_time_too_old" in {f.rule for f in result.findings if f.is_error}


def test_validation_options_are_passed_through() -> None:
    """A longer max age accepts what the default refuses."""
    options = PipelineOptions(default_region="UZ", validation=ValidationOptions(max_age_s=9e5))
    event = _raw_event(event_time=int(NOW_S) - 8 * 86_400)
    assert prepare(event, now_s=NOW_S, options=options).ok


def test_type_errors_give_no_payload_and_name_every_path() -> None:
    """A wrongly typed field stops the event; validator findings on other paths are added."""
    event = _raw_event(opt_out="yes", event_time=int(NOW_S) - 8 * 86_400)
    result = prepare(event, now_s=NOW_S, options=UZ)
    assert not result.ok and result.payload == {}
    paths = [f.path for f in result.findings if f.is_error]
    assert "$.opt_out" in paths and "$.event_time" in paths
    assert paths.count("$.opt_out") == 1
    assert result.quality.score >= 4


def test_non_object_user_data_is_reported_once_per_path() -> None:
    """user_data that is not an object is one error at $.user_data."""
    result = prepare(_raw_event(user_data=["x"]), now_s=NOW_S, options=UZ)
    assert not result.ok and result.payload == {}
    assert [f.path for f in result.findings if f.is_error].count("$.user_data") == 1
    assert result.quality.score == 1


def test_non_object_event_is_reported_not_raised() -> None:
    """A list where an event should be is a finding, not an exception."""
    result = prepare(["x"], now_s=NOW_S)
    assert not result.ok and result.payload == {}
    assert [(f.path, f.rule) for f in result.findings] == [("$", "event_not_object")]


def test_birth_dates_after_today_are_refused() -> None:
    """The db range check uses the caller's now_s, not a clock."""
    raw = _raw_event()
    raw["user_data"]["db"] = "2025-01-05"
    assert "db" in prepare(raw, now_s=NOW_S, options=UZ).payload["user_data"]
    early = prepare(raw, now_s=1_700_000_000.0, options=UZ)  # November 2023
    assert "db" not in early.payload.get("user_data", {})


def test_unknown_default_region_fails_at_configuration() -> None:
    """A region libphonenumber does not know is a ConfigError when options are built."""
    with pytest.raises(ConfigError):
        PipelineOptions(default_region="XX")


def test_prepare_many_prepares_each_event_and_nests_paths() -> None:
    """Each event gets its own result; all_findings puts paths under $.data[i]."""
    bad = _raw_event(opt_out="yes")
    batch = prepare_many([_raw_event(), bad], now_s=NOW_S, options=UZ)
    assert [p.ok for p in batch.items] == [True, False]
    assert not batch.ok
    assert batch.payloads == [batch.items[0].payload]
    assert ("$.data[1].opt_out", "type") in {(f.path, f.rule) for f in batch.all_findings()}


def test_prepare_many_warns_about_duplicates_in_one_request() -> None:
    """Two events with one event_name and event_id get a request-level warning."""
    batch = prepare_many([_raw_event(), _raw_event()], now_s=NOW_S, options=UZ)
    assert batch.ok
    assert [(f.path, f.rule) for f in batch.findings] == [
        ("$.data[1].event_id", "duplicate_event_in_request")
    ]


def test_prepare_many_refuses_more_than_a_thousand_events() -> None:
    """1,001 events is a request error and nothing is prepared."""
    batch = prepare_many([_raw_event()] * 1001, now_s=NOW_S, options=UZ)
    assert not batch.ok and batch.items == ()
    assert [(f.path, f.rule) for f in batch.findings] == [("$.data", "too_many_events")]


def test_prepare_many_accepts_exactly_a_thousand() -> None:
    """1,000 events are prepared."""
    batch = prepare_many([_raw_event(event_id=f"e{i}") for i in range(1000)], now_s=NOW_S)
    assert len(batch.items) == 1000 and batch.ok
