"""The classifier maps every Graph answer the spec lists (§1.3, §1.4, §8, §9) to one outcome."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate import classify
from capigate.classify import Outcome, OutcomeKind, ProbeVerdict

T, R, K, P = (
    OutcomeKind.TRANSIENT,
    OutcomeKind.RATE_LIMITED,
    OutcomeKind.TOKEN,
    OutcomeKind.PERMANENT,
)

# Every code of spec §8's table, copied here (tests never read /work/shared). The spec's "Retry?"
# column says "Permanent" for 102, 104 and 190; DESIGN.md makes them token errors (pause, no
# dead letters), which is what the gateway does.
SPEC_8_CODES: dict[int, OutcomeKind] = {
    1: T,
    2: T,
    3: P,
    4: R,
    10: P,
    17: R,
    32: R,
    613: R,
    80000: R,
    **{code: R for code in range(80001, 80010)},
    80014: R,
    102: K,
    190: K,
    200: P,
    250: P,
    294: P,
    299: P,
    341: T,
    368: T,
    803: P,
    104: K,
    2635: P,
    100: P,
}
# Spec §8.1: every CAPI subcode under code 100 is permanent, and so is 100/33 (unknown pixel).
SPEC_8_1_SUBCODES = [
    33, 2804001, 2804002, 2804003, 2804004, 2804005, 2804007, 2804008, 2804009, 2804010, 2804015,
    2804016, 2804017, 2804019, 2804022, 2804023, 2804024, 2804030, 2804036, 2804043, 2804048,
    2804050, 2804063, 2804066, 2804069, 2804079, 2804087, 2804116, 2804117, 2804131, 2804132,
]  # fmt: skip
# Subcodes the spec names under other codes do not change the code's outcome.
SPEC_OTHER_SUBCODES = [
    (17, 2446079, R),
    (613, 1487742, R),
    (613, 5044001, R),
    *[(190, sub, K) for sub in (458, 459, 460, 463, 464, 467, 492)],
]


def _error(code: Any = None, status: int = 400, **fields: Any) -> Outcome:
    envelope = {"message": "boom", "type": "OAuthException", **fields}
    if code is not None:
        envelope["code"] = code
    return classify.classify(status=status, body={"error": envelope})


# --- the code table, once ----------------------------------------------------------------------


@pytest.mark.parametrize(("code", "kind"), sorted(SPEC_8_CODES.items()))
def test_every_spec_code_maps_to_its_outcome(code: int, kind: OutcomeKind) -> None:
    """Each code of spec §8 classifies as the table says, at the status Meta uses for it."""
    assert classify.kind_for_code(code) is kind
    assert _error(code).kind is kind


@pytest.mark.parametrize("subcode", SPEC_8_1_SUBCODES)
def test_every_capi_subcode_under_100_is_permanent(subcode: int) -> None:
    """Resending a body Meta rejected with 100/<subcode> gets the same rejection."""
    outcome = _error(100, error_subcode=subcode)
    assert (outcome.kind, outcome.code, outcome.subcode) == (P, 100, subcode)


@pytest.mark.parametrize(("code", "subcode", "kind"), SPEC_OTHER_SUBCODES)
def test_subcodes_do_not_change_the_code_outcome(
    code: int, subcode: int, kind: OutcomeKind
) -> None:
    """Throttling and token subcodes keep their code's outcome."""
    assert _error(code, error_subcode=subcode).kind is kind


def test_each_code_is_listed_exactly_once() -> None:
    """No code sits both in CODE_OUTCOMES and in a range, and the ranges do not overlap."""
    for (first, _), (second, _) in itertools.combinations(classify.CODE_RANGES, 2):
        assert not set(first) & set(second)
    for codes, _ in classify.CODE_RANGES:
        assert not set(codes) & set(classify.CODE_OUTCOMES)


def test_the_table_invents_no_code() -> None:
    """Every code the classifier knows comes from spec §8."""
    assert set(classify.CODE_OUTCOMES) <= set(SPEC_8_CODES)
    for codes, kind in classify.CODE_RANGES:
        listed = [code for code in SPEC_8_CODES if code in codes]
        assert listed, f"range {codes} has no code from the spec"
        assert {SPEC_8_CODES[code] for code in listed} == {kind}


@pytest.mark.parametrize(
    ("status", "kind"), [(400, P), (403, P), (404, P), (429, R), (408, T), (500, T), (503, T)]
)
def test_an_unknown_code_falls_back_on_the_status(status: int, kind: OutcomeKind) -> None:
    """A code the spec does not list is permanent on 4xx and worth a retry on 5xx/429/408."""
    assert classify.kind_for_code(12345) is None
    assert _error(12345, status=status).kind is kind


def test_code_decides_over_status() -> None:
    """Meta says to branch on the code: code 4 on a 403 is throttling, code 1 on a 400 transient."""
    assert _error(4, status=403).kind is R
    assert _error(1, status=400).kind is T
    assert _error(190, status=500).kind is K


# --- error envelopes ---------------------------------------------------------------------------


def test_error_fields_are_kept() -> None:
    """Code, subcode, message, user title/msg and trace id come through for the dead letters."""
    outcome = _error(
        100,
        error_subcode=2804003,
        error_user_title="Event Timestamp Too Old",
        error_user_msg="The timestamp for this event is too far in the past.",
        fbtrace_id="A6UyEgg_HdoiRX9duxcBOjb",
        is_transient=False,
    )
    assert outcome == Outcome(
        P,
        status=400,
        code=100,
        subcode=2804003,
        message="boom",
        user_title="Event Timestamp Too Old",
        user_msg="The timestamp for this event is too far in the past.",
        fbtrace_id="A6UyEgg_HdoiRX9duxcBOjb",
    )


def test_is_transient_true_makes_a_permanent_code_transient() -> None:
    """Code 100 (or an unknown 4xx code) with is_transient: true is retried."""
    assert _error(100, is_transient=True).kind is T
    assert _error(2, status=500, is_transient=True).kind is T
    assert _error(12345, is_transient=True).kind is T


def test_is_transient_must_be_a_real_boolean() -> None:
    """A string "true" is not Meta's flag."""
    assert _error(100, is_transient="true").kind is P


def test_is_transient_does_not_unpause_a_token_error() -> None:
    """A token error stays a token error whatever the flag says."""
    assert _error(190, is_transient=True).kind is K


def test_code_given_as_a_string_is_read() -> None:
    """Some proxies turn numbers into strings; "190" is still the token error."""
    assert _error("190").kind is K
    assert _error("100", error_subcode="33").subcode == 33


def test_error_without_code_or_message_uses_the_status() -> None:
    """An envelope with no code falls back on the status and still says what happened."""
    outcome = classify.classify(status=400, body={"error": {}})
    assert (outcome.kind, outcome.code, outcome.message) == (P, None, "HTTP 400 with a Graph error")
    assert _error(True).code is None  # a boolean is not a code


def test_error_envelope_on_a_2xx_is_still_an_error() -> None:
    """An error body wins over a success status."""
    assert _error(190, status=200).kind is K


def test_policy_block_is_flagged() -> None:
    """Code 368 is transient but marked so that the retry policy waits much longer."""
    assert _error(368).policy_block
    assert not _error(1).policy_block


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [(T, True), (R, True), (K, False), (P, False), (OutcomeKind.DELIVERED, False)],
)
def test_retryable_means_transient_or_rate_limited(kind: OutcomeKind, retryable: bool) -> None:
    """Only transient and throttled outcomes are worth the same body again."""
    assert Outcome(kind).retryable is retryable


# --- success and malformed bodies --------------------------------------------------------------


def test_success_body_is_read() -> None:
    """A 200 carries events_received, messages and the trace id."""
    body = {"events_received": 2, "messages": ["note"], "fbtrace_id": "AbC"}
    outcome = classify.classify(status=200, body=body)
    assert outcome == Outcome(
        OutcomeKind.DELIVERED, status=200, events_received=2, messages=("note",), fbtrace_id="AbC"
    )


@pytest.mark.parametrize("body", [None, "<html>ok</html>", [1, 2], {"messages": "x"}])
def test_malformed_success_body_is_delivered_without_a_count(body: object) -> None:
    """A 2xx that is not Meta's JSON is delivered, and check_received flags it."""
    outcome = classify.classify(status=200, body=body)
    assert (outcome.kind, outcome.events_received, outcome.messages) == (
        OutcomeKind.DELIVERED,
        None,
        (),
    )
    assert classify.check_received(3, outcome) == (
        "Meta answered 200 without events_received; 3 events were sent"
    )


@pytest.mark.parametrize(("status", "kind"), [(502, T), (503, T), (504, T), (429, R), (404, P)])
def test_non_json_error_pages_classify_by_status(status: int, kind: OutcomeKind) -> None:
    """An HTML error page from a proxy (body None) is judged by its status."""
    outcome = classify.classify(status=status, body=None)
    assert (outcome.kind, outcome.status) == (kind, status)
    assert outcome.message == f"HTTP {status} without a Graph error body"


def test_transport_error_is_transient() -> None:
    """Timeouts and connection errors are retried and say what happened."""
    outcome = classify.classify(status=None, transport_error="timeout: ReadTimeout")
    assert (outcome.kind, outcome.message, outcome.status) == (T, "timeout: ReadTimeout", None)


def test_transport_error_wins_over_a_status() -> None:
    """A response cut off mid-body is a transport error even if a status arrived."""
    assert classify.classify(status=200, transport_error="connection reset").kind is T


def test_no_status_and_no_error_is_transient() -> None:
    """A missing response with no explanation is still retried."""
    assert classify.classify(status=None).message == "no HTTP response"


# --- events_received ---------------------------------------------------------------------------


def test_check_received_accepts_the_right_count() -> None:
    """events_received equal to what was sent is fine."""
    outcome = classify.classify(status=200, body={"events_received": 5})
    assert classify.check_received(5, outcome) is None


def test_check_received_flags_a_different_count() -> None:
    """A 200 that counts fewer events than were sent is reported."""
    outcome = classify.classify(status=200, body={"events_received": 4})
    assert classify.check_received(5, outcome) == "Meta received 4 of 5 events sent"


def test_check_received_ignores_failures() -> None:
    """A failed request has no count to check."""
    assert classify.check_received(5, _error(1)) is None


# --- Retry-After and usage headers -------------------------------------------------------------

NOW_S = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:30:00 GMT", 120.0),
        ("Wed, 21 Oct 2015 07:29:00 -0000", 60.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
    ],
)
def test_retry_after_seconds_or_http_date(value: str, seconds: float | None) -> None:
    """Retry-After is delta-seconds or an HTTP date; the past and junk mean no wait."""
    assert classify.retry_after_s({"Retry-After": value}, now_s=NOW_S) == seconds


def test_retry_after_date_needs_a_clock() -> None:
    """Without now_s an HTTP date cannot be turned into a wait."""
    assert classify.retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:30:00 GMT"}) is None


def test_usage_header_minutes_become_seconds() -> None:
    """estimated_time_to_regain_access is in minutes; the longest bucket wins."""
    buckets = [
        {"type": "ads_management", "call_count": 100, "estimated_time_to_regain_access": 5},
        {"type": "custom_audience", "estimated_time_to_regain_access": 2},
    ]
    buc = json.dumps({"123": buckets})
    assert classify.retry_after_s({"X-Business-Use-Case-Usage": buc}) == 300.0


@pytest.mark.parametrize("name", ["X-App-Usage", "x-ad-account-usage"])
def test_other_usage_headers_are_read(name: str) -> None:
    """X-App-Usage and X-Ad-Account-Usage are searched the same way."""
    value = '{"call_count": 100, "estimated_time_to_regain_access": 1.5}'
    assert classify.retry_after_s({name: value}) == 90.0


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '{"call_count": 12}',
        '{"estimated_time_to_regain_access": 0}',
        '{"estimated_time_to_regain_access": true}',
        '{"estimated_time_to_regain_access": "5"}',
    ],
)
def test_usage_headers_without_a_wait_say_nothing(value: str) -> None:
    """No positive number of minutes means no wait, and junk never raises."""
    assert classify.retry_after_s({"X-App-Usage": value}) is None


def test_longest_hint_wins() -> None:
    """Retry-After and usage headers together: the longest wait is honoured."""
    headers = {"Retry-After": "30", "X-App-Usage": '{"estimated_time_to_regain_access": 1}'}
    assert classify.retry_after_s(headers) == 60.0
    headers["Retry-After"] = "600"
    assert classify.retry_after_s(headers) == 600.0


def test_throttle_outcome_carries_the_wait() -> None:
    """An 80004 answer with usage headers is rate-limited with retry_after_s set."""
    outcome = classify.classify(
        status=400,
        body={"error": {"code": 80004, "message": "too many calls"}},
        headers={"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": 3}]}'},
    )
    assert (outcome.kind, outcome.retry_after_s) == (R, 180.0)


def test_transient_outcomes_carry_retry_after_too() -> None:
    """A 503 with Retry-After keeps the hint; so does a transport failure with headers."""
    outcome = classify.classify(status=503, headers={"Retry-After": "7"})
    assert outcome.retry_after_s == 7.0


# --- probe verdicts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "verdict"),
    [
        (Outcome(OutcomeKind.DELIVERED, status=200, events_received=0), ProbeVerdict.PASSED),
        (Outcome(P, code=100, subcode=2804019), ProbeVerdict.PASSED),
        (Outcome(P, code=100), ProbeVerdict.PASSED),
        (Outcome(P, code=100, subcode=33), ProbeVerdict.FAILED),
        (Outcome(P, code=10), ProbeVerdict.FAILED),
        (Outcome(P, code=803), ProbeVerdict.FAILED),
        (Outcome(K, code=190), ProbeVerdict.FAILED),
        (Outcome(T, message="timeout"), ProbeVerdict.INCONCLUSIVE),
        (Outcome(R, code=4), ProbeVerdict.INCONCLUSIVE),
    ],
)
def test_probe_verdict(outcome: Outcome, verdict: ProbeVerdict) -> None:
    """A probe passes only when Meta reached body validation of the empty batch."""
    assert classify.probe_verdict(outcome) is verdict


def test_outcome_is_frozen() -> None:
    """Outcomes are values."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        Outcome(T).kind = P  # type: ignore[misc]


# --- robustness --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = json_values | st.fixed_dictionaries(
    {
        "error": st.dictionaries(
            st.sampled_from(["code", "error_subcode", "is_transient", "message"]), json_values
        )
    }
)


@settings(max_examples=300, deadline=None)
@given(status=st.integers(100, 599), body=bodies, header=st.text(max_size=20))
def test_classify_never_raises(status: int, body: object, header: str) -> None:
    """Any status, body and header value gives an outcome; only 2xx without error delivers."""
    headers = {"Retry-After": header, "X-App-Usage": header}
    outcome = classify.classify(status=status, body=body, headers=headers, now_s=NOW_S)
    assert isinstance(outcome.kind, OutcomeKind)
    if outcome.kind is OutcomeKind.DELIVERED:
        assert 200 <= status < 300
    assert outcome.retry_after_s is None or outcome.retry_after_s >= 0
