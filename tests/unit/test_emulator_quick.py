"""The emulator's quick look (emulator.quick) never vouches for a request the full checks fault.

``vouches`` may pass a request to the full checks that they then accept (it is stricter), but
when it vouches, the full checks (``rules.check_event`` on every event) must accept every event
without a warning. These tests compare the two on realistic events and on mutations of them,
and check that ``check_events`` answers exactly as the full checks alone do.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.emulator import EmulatorConfig, user_data
from capigate.emulator.envelope import Refused
from capigate.emulator.quick import SHA256_HEX_CHARS, _click_ids_ok, _lowercase_hex, vouches
from capigate.emulator.rules import check_event, check_events

NOW_S = 1_763_800_000
PIXEL = "1234567890"
DAY_S = 86_400


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def realistic(n: int) -> dict[str, Any]:
    """An event shaped like the gateway's stored payloads (bench_delivery's events)."""
    kind = ("ViewContent", "Lead", "CompleteRegistration", "Subscribe", "Purchase")[n % 5]
    event: dict[str, Any] = {
        "event_name": kind,
        "event_time": NOW_S - 3_600 * (n % 40),
        "event_id": f"e-{n}",
        "action_source": "website",
        "event_source_url": "https://example.com/budget",
        "user_data": {
            "em": sha(f"user{n}@example.com"),
            "ph": sha(f"99890{n:07d}"),
            "fn": sha("aziz"),
            "ln": sha("karimov"),
            "ct": sha("tashkent"),
            "country": sha("uz"),
            "external_id": sha(f"tg-{n}"),
            "client_ip_address": "2001:db8::7" if n % 3 == 0 else f"203.0.113.{n % 250 + 1}",
            "client_user_agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131.0",
            "fbp": f"fb.1.1763700000{n % 1000:03d}.{1_000_000_000 + n}",
            "fbc": f"fb.1.1763700000{n % 1000:03d}.IwAR{n:x}",
        },
    }
    if kind == "Purchase":
        event["custom_data"] = {
            "value": 42.5,
            "currency": "USD",
            "contents": [{"id": f"sku-{n}", "quantity": 1, "item_price": 42.5}],
            "content_type": "product",
        }
    elif kind == "Subscribe":
        event["custom_data"] = {"value": 49000, "currency": "uzs", "plan": "monthly"}
    return event


def full_answer(
    events: list[Any], config: EmulatorConfig, now_s: float = NOW_S
) -> tuple[dict[str, Any] | None, list[str]]:
    """What the full checks alone say: the first refusal (or None) and the warnings."""
    warnings: list[str] = []
    try:
        for index, event in enumerate(events):
            check_event(event, f"$['data'][{index}]", pixel_id=PIXEL, config=config,
                        now_s=now_s, warnings=warnings)  # fmt: skip
    except Refused as refused:  # any other exception fails the test: the emulator never crashes
        return refused.error.summary(), warnings
    return None, warnings


def answer(events: list[Any], config: EmulatorConfig) -> tuple[dict[str, Any] | None, list[str]]:
    """What check_events (quick look first) says."""
    warnings: list[str] = []
    try:
        check_events(events, PIXEL, config, NOW_S, warnings)
    except Refused as refused:
        return refused.error.summary(), warnings
    return None, warnings


# --- mutations ---------------------------------------------------------------------------

ODD_VALUES = [
    None, "", [], {}, 0, 1, True, False, 1.5, -3, "x", " ", "\n", "ABC",
    sha("a").upper(), sha("a")[:63], sha("a") + "0", sha("a") + ".AQ", sha("a") + ".AQYBAAEA",
    sha("a") + ".A", [sha("a")], [sha("a"), "nope"], ["", sha("b")], [1], "1.2.3.4", "::1",
    "256.1.1.1", "1.2.3.4\x00", "fb.1.1596403881668.abc", "fb.1.159640388166.abc",
    "fb.1.1596403881668.", "fb.1.1596403881668.a b", "fb.1.1596403881668.a\nfb.1.1596403881668.b",
    "fb.\u0661.1596403881668.abc", "fb.1.1596403881668.abc\u00a0", "http://x", "ftp://x",
    "example.com", "USD", "usd", "XXX", "product", "in_store", "bogus", "LDU", ["LDU"],
    NOW_S, NOW_S - 8 * DAY_S, NOW_S + 61, NOW_S + 60, NOW_S - 7 * DAY_S, float(NOW_S),
    str(NOW_S), "Purchase", "Lead", "app", "physical_store", "business_messaging", "chat",
    "website", "whatsapp", {"id": "a"}, [{"id": ""}], [{"id": "a", "quantity": "2"}],
    [{"id": "a", "delivery_category": "drone"}], [{"id": "a", "item_price": True}], "1" * 64,
    "a" * 64, "madid-1",
]  # fmt: skip
TOP_KEYS = ["event_name", "event_time", "action_source", "user_data", "custom_data",
            "event_source_url", "event_id", "opt_out", "referrer_url", "messaging_channel",
            "data_processing_options", "data_processing_options_country", "app_data",
            "customer_segmentation", "original_event_data", "unknown_key"]  # fmt: skip
USER_KEYS = [*sorted(user_data.KNOWN_KEYS), "unknown_key"]
CUSTOM_KEYS = ["value", "currency", "contents", "content_ids", "content_type",
               "delivery_category", "predicted_ltv", "customer_segmentation", "status"]  # fmt: skip
CONFIGS = [
    EmulatorConfig(),
    EmulatorConfig(value_requires_currency=True, purchase_requires_currency=False),
    EmulatorConfig(website_requires_source_url=False, website_requires_user_agent=False),
    EmulatorConfig(
        unknown_user_data_keys="accept", unhashed_pii="reject", malformed_click_ids="reject"
    ),
    EmulatorConfig(max_event_name_chars=5, max_age_s=DAY_S, future_skew_s=0),
]

HASHES = [sha("a"), sha("a").upper(), sha("a")[:63], sha("a") + "0", sha("a") + ".AQ",
          sha("a") + ".AQYBAAEA", sha("a") + ".A", [sha("a")], [sha("a"), "nope"], ["", sha("b")],
          "joe@example.com", "a" * 64, "1" * 64, "\u0661" * 64]  # fmt: skip
CLICKS = ["fb.1.1596403881668.abc", "fb.1.159640388166.abc", "fb.1.1596403881668.",
          "fb.1.1596403881668.a b", "fb.1.1596403881668.a\nfb.1.1596403881668.b",
          "fb.\u0661.1596403881668.abc", "fb.1.1596403881668.abc\u00a0", "fb.12.1596403881668.x",
          "fb.1.15964038816680.x", 1596403881668, "a" * 64]  # fmt: skip
# Values aimed at each key's checks; every key also gets the odd values above.
POOLS: dict[str, list[Any]] = {
    "event_time": [NOW_S - 8 * DAY_S, NOW_S - 7 * DAY_S, NOW_S - 7 * DAY_S - 1, NOW_S + 60,
                   NOW_S + 61, NOW_S - 63 * DAY_S, NOW_S - 61 * DAY_S, float(NOW_S), str(NOW_S)],
    "action_source": ["physical_store", "app", "business_messaging", "chat", "email", "bogus"],
    "event_name": ["Purchase", "Lead", "LongName", "", " ", "\u3000"],
    "event_source_url": ["", "example.com", "http://x", "https://x", "HTTPS://x"],
    "client_ip_address": ["1.2.3.4", "::1", "256.1.1.1", "1.2.3.4\x00", "1.2.3", "fe80::1%1",
                          "::ffff:1.2.3.4", sha("1.2.3.4")],
    "client_user_agent": ["", "Mozilla", "a" * 64, sha("ua"), 5],
    "fbc": CLICKS,
    "fbp": CLICKS,
    "value": [1, 1.5, "1.5", "-2", True, None, "x"],
    "currency": ["USD", "usd", "XXX", "", 5, None],
    "contents": [[{"id": "a"}], [{"id": ""}], [{"id": "a", "quantity": "2"}], [{"id": None}],
                 [{"id": "a", "delivery_category": "drone"}], [{"id": "a", "item_price": True}],
                 [{"id": "a", "delivery_category": "in_store", "quantity": 2}], ["a"], {}],
    "content_type": ["product", "product_group", "bogus", ["product"]],
    "delivery_category": ["in_store", "drone", 1],
    "customer_segmentation": ["new_customer_to_business", "bogus"],
    **dict.fromkeys(user_data.HASHED_KEYS, HASHES),
}  # fmt: skip


def changes(where: str, keys: list[str]) -> st.SearchStrategy[tuple[str, str, Any]]:
    """Set one of ``keys`` (in ``where``) to a value aimed at it or an odd one."""

    def values(key: str) -> st.SearchStrategy[Any]:
        odd = st.sampled_from(ODD_VALUES)
        return st.one_of(st.sampled_from(POOLS[key]), odd) if key in POOLS else odd

    return st.sampled_from(keys).flatmap(
        lambda key: st.tuples(st.just(where), st.just(key), values(key))
    )


mutation = st.one_of(
    changes("top", TOP_KEYS),
    changes("user", USER_KEYS),
    changes("custom", CUSTOM_KEYS),
    st.tuples(st.just("drop"), st.sampled_from(TOP_KEYS + USER_KEYS), st.none()),
)


def mutate(event: dict[str, Any], change: tuple[str, str, Any]) -> dict[str, Any]:
    where, key, value = change
    event = copy.deepcopy(event)
    value = copy.deepcopy(value)
    if where == "top":
        event[key] = value
    elif where == "user" and isinstance(event.get("user_data"), dict):
        event["user_data"][key] = value
    elif where == "custom":
        custom = event.get("custom_data")
        if not isinstance(custom, dict):
            custom = event["custom_data"] = {}
        custom[key] = value
    elif where == "drop":
        event.pop(key, None)
        if isinstance(event.get("user_data"), dict):
            event["user_data"].pop(key, None)
    return event


@st.composite
def requests(draw: st.DrawFn) -> list[Any]:
    """A few realistic events, some of them mutated once or twice."""
    count = draw(st.integers(1, 6))
    events: list[Any] = []
    for _ in range(count):
        event = realistic(draw(st.integers(0, 10_000)))
        for change in draw(st.lists(mutation, max_size=2)):
            event = mutate(event, change)
        events.append(event)
    return events


# --- properties --------------------------------------------------------------------------


@settings(max_examples=1_500, deadline=None)
@given(requests(), st.sampled_from(CONFIGS))
def test_a_vouched_request_is_one_the_full_checks_pass_without_warnings(
    events: list[Any], config: EmulatorConfig
) -> None:
    """vouches() => the full checks refuse nothing and warn about nothing."""
    if vouches(events, config, NOW_S):
        assert full_answer(events, config) == (None, [])


@settings(max_examples=1_000, deadline=None)
@given(requests(), st.sampled_from(CONFIGS))
def test_check_events_answers_as_the_full_checks_do(
    events: list[Any], config: EmulatorConfig
) -> None:
    """Same refusal (code, subcode, message) and the same warnings, quick look or not."""
    assert answer(events, config) == full_answer(events, config)


def test_realistic_requests_are_vouched_for() -> None:
    """The common case takes the quick path (the properties above are not vacuous)."""
    events = [realistic(n) for n in range(1_000)]
    assert vouches(events, EmulatorConfig(), NOW_S)
    assert full_answer(events, EmulatorConfig()) == (None, [])


def test_one_faulty_event_sends_the_request_to_the_full_checks() -> None:
    """An unhashed email in event 7 of 10: not vouched, and the full checks warn about it."""
    events = [realistic(n) for n in range(10)]
    events[7]["user_data"]["em"] = "joe@example.com"
    assert not vouches(events, EmulatorConfig(), NOW_S)
    error, warnings = answer(events, EmulatorConfig())
    assert error is None
    assert warnings == [
        "$['data'][7]['user_data']['em'] must be the SHA-256 of the normalized value "
        "(64 lowercase hex characters)."
    ]


def test_sdk_style_arrays_and_nulls_go_to_the_full_checks() -> None:
    """Hashed values as arrays (the SDK's shape) are left to the full checks, which pass them."""
    event = realistic(1)
    event["user_data"]["em"] = [event["user_data"]["em"]]
    assert not vouches([event], EmulatorConfig(), NOW_S)
    assert answer([event], EmulatorConfig()) == (None, [])


@settings(max_examples=2_000, deadline=None)
@given(st.lists(st.one_of(
    st.sampled_from([c for c in CLICKS if isinstance(c, str)]),
    st.text(min_size=1, max_size=40),
    st.builds(lambda d, ms, rest: f"fb.{d}.{ms}.{rest}",
              st.text(max_size=2), st.text(max_size=15), st.text(max_size=8)),
), min_size=1, max_size=3))  # fmt: skip
def test_click_id_test_matches_the_full_checks_regex(values: list[str]) -> None:
    """Values through the joined-lines regex pass exactly when each matches CLICK_ID_RE."""
    each = all(user_data.CLICK_ID_RE.fullmatch(value) for value in values)
    assert _click_ids_ok(values) == each


@settings(max_examples=2_000, deadline=None)
@given(st.one_of(
    st.text(min_size=SHA256_HEX_CHARS, max_size=SHA256_HEX_CHARS),
    st.text(alphabet="0123456789abcdefABCDEF\x00 g", min_size=64, max_size=64),
))  # fmt: skip
def test_hex_test_matches_the_full_checks_regex(value: str) -> None:
    """A 64-character value passes the translate test exactly when HASHED_RE matches it."""
    assert _lowercase_hex(value) == (user_data.HASHED_RE.fullmatch(value) is not None)
