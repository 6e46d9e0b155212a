"""validate_event on user_data: hashing, clear-text keys, baseline matching (spec §3)."""

from __future__ import annotations

from typing import Any

import pytest

from capigate.findings import Severity
from capigate.validate import EventCheck
from tests.unit.test_validate_factory import check, make_event, only, rules, sha

HASH = sha("john@example.com")


def with_user_data(action_source: str = "other", **user_data: Any) -> EventCheck:
    """Check an event whose user_data is exactly ``user_data``."""
    return check(make_event(action_source, user_data=user_data))


# ---- presence and baseline matching (§3.3) ---------------------------------------------------


def test_empty_user_data_is_2804050() -> None:
    """user_data with no key is an error citing 2804050."""
    finding = only(with_user_data(), "user_data_empty")
    assert finding.severity is Severity.ERROR and "2804050" in finding.message


def test_user_data_with_only_empty_values_counts_as_empty() -> None:
    """Keys whose values are empty are warned about and do not count as customer information."""
    result = with_user_data(em="", ph=[], fn=None)
    assert rules(result) == ["user_data_empty_value"] * 3 + ["user_data_empty"]


def test_user_data_with_only_unknown_keys_counts_as_empty() -> None:
    """An unknown key is warned about and does not satisfy the one-key rule."""
    assert rules(with_user_data(email=HASH)) == ["user_data_unknown_key", "user_data_empty"]


@pytest.mark.parametrize(
    "keys",
    [
        ("ct", "country", "st", "zp", "ge", "client_user_agent"),
        ("ge", "ct", "st", "country"),
        ("country",),
        ("client_user_agent",),
        ("db", "client_user_agent"),
        ("db",),
        ("fn", "ge"),
        ("ln", "ge"),
        ("ln",),
    ],
)
def test_too_broad_combinations_are_2804050(keys: tuple[str, ...]) -> None:
    """A subset of one of the four too-broad combinations is rejected."""
    user_data = {k: "Mozilla/5.0" if k == "client_user_agent" else sha(k) for k in keys}
    finding = only(with_user_data(**user_data), "user_data_too_broad")
    assert finding.is_error and "2804050" in finding.message
    assert ", ".join(sorted(keys)) in finding.message


@pytest.mark.parametrize(
    "keys",
    [("em",), ("fn", "ln"), ("fn", "ln", "ge"), ("db", "ge"), ("ct", "fn"), ("country", "ph")],
)
def test_combinations_beyond_the_broad_ones_pass(keys: tuple[str, ...]) -> None:
    """Any set that is not a subset of a too-broad combination is enough."""
    assert with_user_data(**{k: sha(k) for k in keys}).findings == ()


@pytest.mark.parametrize(
    ("key", "value"),
    [("external_id", HASH), ("fbp", "fb.1.1596403881668.1116446470"),
     ("client_ip_address", "2001:4860:4860::8888"), ("madid", "abc")],
)  # fmt: skip
def test_single_strong_keys_pass_the_baseline(key: str, value: str) -> None:
    """One strong key alone satisfies Meta's baseline."""
    assert with_user_data("app", **{key: value}).ok


def test_baseline_rule_can_be_switched_off() -> None:
    """require_baseline_match=False lets a too-broad combination through."""
    event = make_event("other", user_data={"fn": sha("mary"), "ge": sha("f")})
    assert check(event, require_baseline_match=False).findings == ()


# ---- hashed keys ------------------------------------------------------------------------------

HASHED = ["em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "f5first", "doby"]


@pytest.mark.parametrize("key", HASHED)
@pytest.mark.parametrize(
    "value",
    [HASH, f"{HASH}.AQ", f"{HASH}.AQYBAQIA", [HASH, sha("other")]],
    ids=["hex", "suffix2", "suffix8", "list"],
)
def test_hashed_keys_accept_sha256_and_param_builder_suffix(key: str, value: Any) -> None:
    """Lowercase 64-hex, with a 2- or 8-character param-builder suffix, or a list of them."""
    assert with_user_data(**{"external_id": HASH, key: value}).findings == ()


@pytest.mark.parametrize(
    "value",
    ["john@example.com", "d41d8cd98f00b204e9800998ecf8427e", HASH[:63], HASH + "0",
     f"{HASH}.ABC", f"{HASH}.", "1" * 64, " " + HASH],
    ids=["raw", "md5", "short", "long", "suffix3", "dot", "digits", "space"],
)  # fmt: skip
def test_unhashed_contact_field_is_an_error(value: str) -> None:
    """Anything but SHA-256 hex (MD5, digits, raw PII) in a hashed key is an error."""
    finding = only(with_user_data(external_id=HASH, em=value), "user_data_not_hashed")
    assert finding.path == "$.user_data.em" and finding.is_error
    assert value not in finding.message  # never echo a possibly raw value


def test_uppercase_hash_is_an_error_that_says_lowercase() -> None:
    """Upper-case hex is rejected with advice to lowercase it."""
    finding = only(with_user_data(em=HASH.upper()), "user_data_not_hashed")
    assert "Lowercase" in finding.message


def test_each_bad_list_item_is_reported_at_its_index() -> None:
    """List values are checked item by item with indexed paths."""
    result = with_user_data(em=[HASH, "raw@x.com", 5])
    assert [(f.rule, f.path) for f in result.findings] == [
        ("user_data_not_hashed", "$.user_data.em[1]"),
        ("user_data_value_type", "$.user_data.em[2]"),
    ]


@pytest.mark.parametrize("value", [5, {"v": HASH}, True])
def test_hashed_key_of_wrong_type_is_an_error(value: Any) -> None:
    """A hashed key must be a string or an array of strings."""
    assert only(with_user_data(em=HASH, ph=value), "user_data_value_type").path == "$.user_data.ph"


def test_unhashed_external_id_is_only_a_warning() -> None:
    """Meta accepts a raw external_id; the validator recommends hashing it."""
    result = with_user_data(external_id="user-42")
    assert only(result, "external_id_not_hashed").severity is Severity.WARNING
    assert result.ok


# ---- clear-text keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["client_user_agent", "fbc", "fbp", "subscription_id", "ctwa_clid", "ig_sid", "page_id"]
)
def test_hashed_looking_never_hash_key_warns(key: str) -> None:
    """A never-hash key that looks like SHA-256 is a warning: it will never match."""
    result = with_user_data("other", em=HASH, **{key: HASH.upper()})
    expected = "fbc_format" if key in ("fbc", "fbp") else "never_hash_key_hashed"
    expected = "fbp_format" if key == "fbp" else expected
    assert only(result, expected).severity is Severity.WARNING


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("client_user_agent", 5, "a string"),
        ("client_ip_address", 3232235777, "a string"),
        ("madid", ["x"], "a string"),
        ("fbp", ["fb.1.1596403881668.1"], "a string"),
        ("page_id", True, "a string or an integer"),
        ("lead_id", 1.5, "a string or an integer"),
    ],
)
def test_clear_key_of_wrong_type_is_an_error(key: str, value: Any, expected: str) -> None:
    """Clear-text keys are strings; id keys are strings or integers."""
    finding = only(with_user_data(em=HASH, **{key: value}), "user_data_value_type")
    assert expected in finding.message


@pytest.mark.parametrize("key", ["page_id", "fb_login_id", "ig_account_id"])
@pytest.mark.parametrize("value", ["1234567890", 1234567890])
def test_id_keys_accept_strings_and_integers(key: str, value: Any) -> None:
    """Numeric ids may be sent as strings or integers."""
    assert with_user_data(em=HASH, **{key: value}).findings == ()


@pytest.mark.parametrize(("value", "ok"), [("123456789012345", True), (1234567890123456, True),
                                           ("12345", False), ("12345678901234567", False),
                                           ("abcdefghijklmno", False)])  # fmt: skip
def test_lead_id_is_15_or_16_digits(value: Any, ok: bool) -> None:
    """lead_id outside 15-16 digits warns (Meta answers 2804036)."""
    result = with_user_data(em=HASH, lead_id=value)
    assert ("lead_id_format" in rules(result)) is not ok
    if not ok:
        assert "2804036" in only(result, "lead_id_format").message


@pytest.mark.parametrize("address", ["93.184.216.34", "2001:4860:4860::8888"])
def test_public_ip_addresses_pass(address: str) -> None:
    """Public IPv4 and IPv6 addresses are accepted."""
    assert with_user_data(client_ip_address=address).findings == ()


@pytest.mark.parametrize("address", ["999.1.1.1", "1.2.3", " 93.184.216.34", "localhost", HASH])
def test_unparseable_ip_is_an_error(address: str) -> None:
    """client_ip_address must parse as IPv4 or IPv6 with no spaces (and is never hashed)."""
    finding = only(with_user_data(em=HASH, client_ip_address=address), "client_ip_invalid")
    assert finding.is_error


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "192.168.1.5", "::1", "fe80::1"])
def test_private_ip_warns(address: str) -> None:
    """A private or loopback address is a warning: Meta needs the user's public address."""
    result = with_user_data(em=HASH, client_ip_address=address)
    assert only(result, "client_ip_not_public").severity is Severity.WARNING


@pytest.mark.parametrize("key", ["fbc", "fbp"])
@pytest.mark.parametrize(
    "value",
    ["fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk",
     "fb.0.1596403881668.1116446470", "fb.1.1596403881668.AbC.AQYBAQIA"],
)  # fmt: skip
def test_well_formed_click_cookies_pass(key: str, value: str) -> None:
    """fb.<digit>.<13 digits>.<anything without spaces> is accepted, in any case."""
    assert with_user_data(**{key: value}).findings == ()


@pytest.mark.parametrize("key", ["fbc", "fbp"])
@pytest.mark.parametrize(
    "value",
    ["IwAR2F4-dbP0", "fb.1.1554763741.IwAR2F4", "FB.1.1554763741205.x", "fb.1.1554763741205.",
     "fb.1.1554763741205.a b", "fb.12.1554763741205.x"],
)  # fmt: skip
def test_malformed_click_cookies_warn(key: str, value: str) -> None:
    """A value outside Meta's envelope is a warning (the event still goes)."""
    result = with_user_data(em=HASH, **{key: value})
    assert only(result, f"{key}_format").severity is Severity.WARNING
    assert result.ok


@pytest.mark.parametrize("key", ["madid", "anon_id"])
def test_app_only_keys_warn_on_other_events(key: str) -> None:
    """madid and anon_id on a non-app event are warned about; on app events they pass."""
    assert only(with_user_data("website", em=HASH, client_user_agent="UA", **{key: "x"}),
                "app_only_user_key").severity is Severity.WARNING  # fmt: skip
    assert check(make_event("app", user_data={key: "x"})).findings == ()


def test_unknown_user_data_key_warns_and_others_still_count() -> None:
    """An unknown key is a warning; the event still passes on its known keys."""
    result = with_user_data(em=HASH, phone_hash=HASH)
    assert only(result, "user_data_unknown_key").path == "$.user_data.phone_hash"
    assert result.ok


@pytest.mark.parametrize("key", ["partner_id", "partner_name", "external_id"])
def test_other_documented_keys_are_known(key: str) -> None:
    """Segment's partner keys and external_id are not unknown keys."""
    assert "user_data_unknown_key" not in rules(with_user_data(em=HASH, **{key: HASH}))
