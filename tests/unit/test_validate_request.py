"""validate_request (spec §1.2, §12 step 2), the rule catalogue and ValidationOptions."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from capigate.errors import ConfigError
from capigate.findings import Severity
from capigate.validate import (
    MAX_EVENTS_PER_REQUEST,
    RULES,
    RequestCheck,
    ValidationOptions,
    validate_request,
)
from capigate.validate.rules import child, found, kind
from tests.unit.test_validate_factory import NOW_S, make_event


def request(body: Any, **options: Any) -> RequestCheck:
    return validate_request(body, now_s=NOW_S, options=ValidationOptions(**options))


def request_rules(result: RequestCheck) -> list[str]:
    return [f.rule for f in result.findings]


# ---- body ---------------------------------------------------------------------------------------


def test_valid_request_passes_with_metas_top_level_keys() -> None:
    """data plus documented top-level keys (and the SDK's internal ones) is clean."""
    body = {"data": [make_event(), make_event("app", event_id="e2")], "test_event_code": "TEST1",
            "partner_agent": "capigate", "namespace_id": "n", "upload_id": "u", "upload_tag": "t",
            "upload_source": "s", "access_token": "tok", "appsecret_proof": "p",
            "platforms": [{}], "progress": {}, "trace": 1}  # fmt: skip
    result = request(body)
    assert result.ok and result.all_findings() == () and result.rejected == ()
    assert len(result.events) == 2


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({}, "data_missing"),
        ({"data": None}, "data_missing"),
        ({"data": {"event_name": "x"}}, "data_not_list"),
        ({"data": '[{"event_name": "x"}]'}, "data_not_list"),
        ({"data": []}, "data_empty"),
    ],
)
def test_data_must_be_a_non_empty_array(body: dict[str, Any], rule: str) -> None:
    """Missing, non-array and empty data are request-level errors at $.data."""
    result = request(body)
    assert request_rules(result) == [rule]
    assert result.findings[0].path == "$.data" and not result.ok


def test_form_encoded_data_string_gets_a_decode_hint() -> None:
    """data sent as a JSON string (form encoding) is answered with a hint to decode it."""
    assert "Decode" in request({"data": "[]"}).findings[0].message


def test_body_that_is_not_an_object_is_an_error() -> None:
    """A JSON array as the body is rejected at $."""
    result = request([make_event()])
    assert request_rules(result) == ["body_not_object"] and result.findings[0].path == "$"
    assert result.body == {} and result.events == ()


def test_more_than_1000_events_is_an_error() -> None:
    """1,001 events exceed Meta's cap; 1,000 do not."""
    event = make_event(event_id=None)
    assert request({"data": [event] * MAX_EVENTS_PER_REQUEST}).findings == ()
    result = request({"data": [event] * (MAX_EVENTS_PER_REQUEST + 1)})
    assert request_rules(result) == ["too_many_events"]
    assert "1001" in result.findings[0].message and not result.ok


def test_unknown_top_level_key_warns() -> None:
    """An undocumented request key is a warning at its path."""
    result = request({"data": [make_event()], "event_name": "Purchase"})
    assert request_rules(result) == ["request_unknown_key"]
    assert result.findings[0].path == "$.event_name"
    assert result.findings[0].severity is Severity.WARNING and result.ok


@pytest.mark.parametrize("key", ["test_event_code", "partner_agent", "access_token"])
def test_documented_string_keys_must_be_strings(key: str) -> None:
    """test_event_code and friends must be strings."""
    result = request({"data": [make_event()], key: 123})
    assert request_rules(result) == ["request_field_type"] and not result.ok


# ---- events inside a request ---------------------------------------------------------------------


def test_event_findings_are_rerooted_under_their_index() -> None:
    """all_findings lists request findings, then event findings under $.data[i]."""
    bad = make_event(event_id="e2", event_time=NOW_S - 30 * 86_400)
    result = request({"data": [make_event(), bad], "x": 1})
    paths = [(f.rule, f.path) for f in result.all_findings()]
    assert paths == [("request_unknown_key", "$.x"), ("event_time_too_old", "$.data[1].event_time")]
    assert result.events[1].findings[0].path == "$.event_time"  # the event's own view
    assert result.rejected == (1,) and not result.ok


def test_non_object_event_is_rejected_at_its_index_and_kept_in_the_body() -> None:
    """A string in data is an error at $.data[i]; the corrected body keeps it as it was."""
    result = request({"data": [make_event(), "oops"]})
    assert [(f.rule, f.path) for f in result.all_findings()] == [("event_not_object", "$.data[1]")]
    assert result.body["data"][1] == "oops"


def test_corrected_body_carries_the_corrected_events() -> None:
    """A milliseconds event_time is converted in the returned body, not in the input."""
    event = make_event(event_time=(NOW_S - 60) * 1000)
    body = {"data": [event], "test_event_code": "T"}
    result = request(body)
    assert result.body["data"][0]["event_time"] == NOW_S - 60
    assert result.body["test_event_code"] == "T"
    assert body["data"][0]["event_time"] == (NOW_S - 60) * 1000
    assert result.ok


def test_repeated_event_name_and_event_id_in_one_request_warns() -> None:
    """The second event with the same (event_name, event_id) is warned about."""
    events = [make_event(event_id="a"), make_event(event_id="b"), make_event(event_id="a"),
              make_event(event_id="a", event_name="Lead"), make_event(event_id=None),
              make_event(event_id=None)]  # fmt: skip
    result = request({"data": events})
    duplicates = [f for f in result.findings if f.rule == "duplicate_event_in_request"]
    assert [f.path for f in duplicates] == ["$.data[2].event_id"]
    assert "$.data[0]" in duplicates[0].message and result.ok


def test_request_options_reach_every_event() -> None:
    """Options given to validate_request apply to each event."""
    result = request({"data": [make_event(event_name="7d_Return")]}, custom_name_style="strict")
    assert [f.rule for f in result.all_findings()] == ["custom_event_name_style"]


# ---- catalogue ----------------------------------------------------------------------------------

SLUG = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
VALIDATE_SRC = Path(__file__).resolve().parents[2] / "src" / "capigate" / "validate"


@pytest.mark.parametrize("slug", sorted(RULES))
def test_every_rule_is_well_formed(slug: str) -> None:
    """Each catalogue entry has a snake_case slug, a spec section, a summary and a sane subcode."""
    rule = RULES[slug]
    assert rule.slug == slug and SLUG.fullmatch(slug)
    assert re.fullmatch(r"§\d+(\.\d+)?", rule.spec)
    assert rule.summary.endswith(".")
    assert rule.subcode is None or 2804000 < rule.subcode < 2805000


def test_every_catalogued_rule_is_used_by_the_validator() -> None:
    """No dead rule: each slug appears in the validator's code (found() rejects unknown ones)."""
    literals: set[str] = set()
    for path in VALIDATE_SRC.glob("*.py"):
        if path.name != "rules.py":
            tree = ast.parse(path.read_text())
            literals |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    built = {"fbc_format", "fbp_format"}  # made as f"{key}_format"
    assert set(RULES) - literals == built


def test_rules_serialize_for_docs_and_the_dashboard() -> None:
    """Rule.to_dict gives slug, severity, spec, summary and subcode as plain JSON."""
    assert RULES["event_time_too_old"].to_dict() == {
        "rule": "event_time_too_old",
        "severity": "error",
        "spec": "§7.1",
        "summary": RULES["event_time_too_old"].summary,
        "subcode": 2804003,
    }


def test_found_rejects_a_slug_missing_from_the_catalogue() -> None:
    """A finding can only be made for a catalogued rule."""
    with pytest.raises(KeyError):
        found("no_such_rule", "$", "x")


def test_found_uses_the_catalogue_severity_spec_and_subcode() -> None:
    """found() takes severity and spec from RULES and appends Meta's subcode."""
    finding = found("event_time_too_old", "$.event_time", "Too old.")
    assert finding.severity is Severity.ERROR and finding.spec == "§7.1"
    assert finding.message == "Too old. (Meta answers 100/2804003.)"
    assert found("fbc_format", "$.x", "Odd.").message == "Odd."


@pytest.mark.parametrize(
    ("key", "path"), [("em", "$.em"), ("_a1", "$._a1"), ("a b", "$['a b']"), ("1x", "$['1x']")]
)
def test_child_paths_use_dots_for_identifiers_and_brackets_otherwise(key: str, path: str) -> None:
    """JSONPath children are $.key or $['key']."""
    assert child("$", key) == path


@pytest.mark.parametrize(
    ("value", "name"),
    [(None, "null"), (True, "a boolean"), (1, "a number"), (1.5, "a number"), ("", "a string"),
     ([], "an array"), ({}, "an object"), (b"x", "bytes")],
)  # fmt: skip
def test_kind_names_json_types(value: Any, name: str) -> None:
    """kind() names a value's JSON type without echoing it."""
    assert kind(value) == name


# ---- options ------------------------------------------------------------------------------------


def test_default_options_follow_the_spec() -> None:
    """7 days, 62 days for stores, 60 s skew, official allowlist, Meta's name rule, baseline on."""
    options = ValidationOptions()
    assert (options.max_age_s, options.physical_store_max_age_s) == (7 * 86_400, 62 * 86_400)
    assert options.future_skew_s == 60 and options.messaging_allowlist == "official"
    assert options.custom_name_style == "meta" and options.require_baseline_match


@pytest.mark.parametrize(
    "kwargs",
    [{"max_age_s": 0}, {"physical_store_max_age_s": -1}, {"future_skew_s": -1},
     {"messaging_allowlist": "observed"}, {"custom_name_style": "seed004"}],
)  # fmt: skip
def test_invalid_options_raise_config_error(kwargs: dict[str, Any]) -> None:
    """Nonsensical options fail fast with a ConfigError naming the setting."""
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        ValidationOptions(**kwargs)
