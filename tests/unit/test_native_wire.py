"""The C fast path (``capigate._cwire``) answers exactly as the Python one: the same wire dict
(keys, order, values, types, copies) or None, on random, realistic and broken events; prepare
gives the same result either way; errors surface as exceptions; memory stays flat."""

from __future__ import annotations

import copy
import ipaddress
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate import pipeline, quality
from capigate.findings import Finding, warning
from capigate.normalize import normalize_user_data
from capigate.pipeline import PipelineOptions, Prepared, prepare
from capigate.quality import MatchQuality, estimate, plain_init_fields
from capigate.validate import ValidationOptions
from capigate.validate.clean import clean_wire, native_tables
from tests.unit.test_validate_clean import OPTIONS, WEIRD, near_clean_events

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from bench_core import NOW_S, generate

from tests.native import assert_memory_flat, require_native

cwire = require_native("_cwire")

REALISTIC = generate(600, 120)
PIPELINES = [PipelineOptions(default_region="UZ", validation=options) for options in OPTIONS]
MAX_BLOCK_GROWTH = 1000  # a leak of one object per call would be 100k blocks


@pytest.fixture(autouse=True)
def _native_on() -> Iterator[None]:
    assert pipeline.use_native(True)
    yield
    pipeline.use_native(True)


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, dict keys in the same order, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def normalized(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("user_data")
    user_data, _ = normalize_user_data(raw if isinstance(raw, dict) else {}, default_region="UZ")
    return user_data


def assert_native_agrees(event: dict[str, Any], options: ValidationOptions) -> Any:
    """C answers as Python does, or steps aside (None); the input is left as it was."""
    user_data = normalized(event)
    before = copy.deepcopy(event)
    pure = clean_wire(event, user_data, NOW_S, options)
    native = cwire.clean_wire(event, user_data, NOW_S, options)
    assert event == before
    if native is not None:
        assert same(native, pure)  # stricter than comparing JSON: types and order too
    return native, pure


# --- mutations of realistic events ------------------------------------------------------

Mutation = Callable[[dict[str, Any], st.DrawFn], None]


def _set(key: str, values: list[Any]) -> Mutation:
    def mutate(event: dict[str, Any], draw: st.DrawFn) -> None:
        event[key] = copy.deepcopy(draw(st.sampled_from(values)))

    return mutate


def _drop(event: dict[str, Any], draw: st.DrawFn) -> None:
    event.pop(draw(st.sampled_from(sorted(event))), None)


def _custom(event: dict[str, Any], draw: st.DrawFn) -> None:
    custom = event.get("custom_data")
    if isinstance(custom, dict):
        key = draw(st.sampled_from([*custom, "email", "num_items", "value", "currency"]))
        custom[key] = copy.deepcopy(draw(CUSTOM_VALUES))


def _contents(event: dict[str, Any], draw: st.DrawFn) -> None:
    custom = event.get("custom_data")
    if isinstance(custom, dict) and isinstance(custom.get("contents"), list):
        for item in (i for i in custom["contents"] if isinstance(i, dict)):
            item[draw(st.sampled_from(["id", "quantity", "item_price", "title"]))] = copy.deepcopy(
                draw(WEIRD)
            )


def _extinfo(event: dict[str, Any], draw: st.DrawFn) -> None:
    app = event.get("app_data")
    if isinstance(app, dict) and isinstance(app.get("extinfo"), list):
        extinfo = app["extinfo"]
        extinfo[draw(st.integers(0, len(extinfo) - 1))] = draw(EXTINFO_ITEMS)
        if draw(st.booleans()):
            app["extinfo"] = draw(st.sampled_from([extinfo[:15], (*extinfo,), [*extinfo, "x"]]))


def _app_flags(event: dict[str, Any], draw: st.DrawFn) -> None:
    app = event.get("app_data")
    if isinstance(app, dict):
        key = draw(st.sampled_from(["advertiser_tracking_enabled", "application_tracking_enabled"]))
        app[key] = draw(st.sampled_from([0, 1, True, False, 2, -1, "1", None, 1.0, 2**70]))


def _user_data(event: dict[str, Any], draw: st.DrawFn) -> None:
    user = event.get("user_data")
    if isinstance(user, dict):
        key, value = draw(st.sampled_from(USER_VALUES))
        user[key] = value


def _messaging(event: dict[str, Any], draw: st.DrawFn) -> None:
    event["action_source"] = "business_messaging"
    event["event_name"] = draw(
        st.sampled_from(["Purchase", "LeadSubmitted", "Lead", "OrderShipped"])
    )
    event["messaging_channel"] = draw(
        st.sampled_from(["whatsapp", "messenger", "instagram", "sms"])
    )


SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
CUSTOM_VALUES = st.sampled_from(
    [None, "", 0, -1, 1.5, -0.0, float("nan"), float("inf"), True, "usd", "USD ", "XXX", "xts",
     "ABC", "ſſſ", "Ǆǅǆ", "ÜSD", "product", "product_group", "Product", [], {}, (), [1], {"a": 1},
     2**80, -(2**80), "x"]
)  # fmt: skip
EXTINFO_ITEMS = st.sampled_from(["a2", "i2", "i3", "", " ", "\u2003", "\u2003x", "17.4", 1, None])
USER_VALUES = [
    ("madid", "38400000-8cf0-11bd-b23e-000000000001"),
    ("anon_id", "anon-1"),
    ("lead_id", "123456789012345"),
    ("lead_id", "12345"),
    ("lead_id", "１２３４５６７８９０１２３４５"),
    ("page_id", "104020123456789"),
    ("page_id", SHA),
    ("fb_login_id", 1234567),
    ("partner_id", "p-1"),
    ("subscription_id", SHA.upper()),
    ("ctwa_clid", "ARAabc"),
    ("ig_sid", "ig-1"),
    ("page_scoped_user_id", "psid-1"),
    ("whatsapp_business_account_id", "104020123456789"),
    ("client_ip_address", "10.0.0.1"),
    ("client_ip_address", "::1"),
    ("client_ip_address", "2a02:4780:1::1"),
    ("client_ip_address", "1.2.3.04"),
    ("client_ip_address", "256.1.1.1"),
    ("client_ip_address", "8.8.8.8"),
    ("client_ip_address", "100.64.0.1"),
    ("client_ip_address", "١.٢.٣.٤"),
    ("client_ip_address", "not an ip"),
    ("client_user_agent", SHA),
    ("client_user_agent", ""),
    ("em", "someone@example.com"),
    ("ge", "m"),
]
MUTATIONS: list[Mutation] = [
    _set(
        "event_time",
        [
            int(NOW_S) * 1000,
            int(NOW_S) - 8 * 86_400,
            int(NOW_S) + 3600,
            NOW_S,
            True,
            "1763800000",
            -1,
            2**60,
            int(NOW_S) - 61 * 86_400,
            int(NOW_S) + 60,
        ],
    ),
    _set(
        "event_name",
        [
            "Purchase",
            "purchase",
            " Lead",
            "fb_mobile_purchase",
            "x" * 60,
            "",
            "Start Bot",
            "Ünïcode",
            7,
            None,
        ],
    ),
    _set("event_id", ["", "x" * 256, "x" * 257, 42, None]),
    _set(
        "action_source",
        ["website", "app", "physical_store", "business_messaging", "Website", "other", None],
    ),
    _set(
        "event_source_url",
        [
            "https://x.io/a",
            "HTTP://X.IO",
            "httpſ://x.io",
            "https:// x",
            "https://\u2003x",
            "ftp://x",
            "",
            None,
            5,
        ],
    ),
    _set("referrer_url", ["", "https://r.io", None, 1]),
    _set("messaging_channel", ["whatsapp", "sms", None, 1]),
    _set(
        "custom_data",
        [
            None,
            {},
            [],
            "x",
            {"value": 1},
            {"currency": "usd"},
            {"value": 0, "currency": "uzs", "contents": []},
        ],
    ),
    _set("app_data", [None, {}, [], {"advertiser_tracking_enabled": 1}]),
    _set("opt_out", [False]),
    _set("unknown_key", ["x"]),
    _drop,
    _custom,
    _contents,
    _extinfo,
    _app_flags,
    _user_data,
    _messaging,
]


@st.composite
def realistic_events(draw: st.DrawFn) -> dict[str, Any]:
    """A generated event as traffic brings them, then a few mutations of it."""
    event = copy.deepcopy(draw(st.sampled_from(REALISTIC)))
    for mutate in draw(st.lists(st.sampled_from(MUTATIONS), max_size=3)):
        mutate(event, draw)
    return event


# --- the differential tests -------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(event=realistic_events(), options=st.sampled_from(OPTIONS))
def test_realistic_and_broken_events_agree(
    event: dict[str, Any], options: ValidationOptions
) -> None:
    """C's wire dict is Python's, value for value and type for type, whenever C answers."""
    assert_native_agrees(event, options)


@settings(max_examples=400, deadline=None)
@given(event=near_clean_events(), options=st.sampled_from(OPTIONS))
def test_near_clean_events_agree(event: dict[str, Any], options: ValidationOptions) -> None:
    """The odd and borderline values of test_validate_clean agree too."""
    assert_native_agrees(event, options)


@pytest.mark.parametrize("options", OPTIONS)
def test_every_realistic_event_is_answered_in_c(options: ValidationOptions) -> None:
    """C never steps aside where Python answers on generated traffic (no silent slow path)."""
    for event in REALISTIC:
        native, pure = assert_native_agrees(event, options)
        assert (native is None) == (pure is None)


@settings(max_examples=300, deadline=None)
@given(event=realistic_events(), options=st.sampled_from(PIPELINES))
def test_prepare_is_the_same_with_and_without_c(
    event: dict[str, Any], options: PipelineOptions
) -> None:
    """Same payload, findings and quality whichever path prepare takes."""
    native = prepare(copy.deepcopy(event), now_s=NOW_S, options=options)
    assert not pipeline.use_native(False)
    pure = prepare(copy.deepcopy(event), now_s=NOW_S, options=options)
    assert same(native.payload, pure.payload)
    assert (native.findings, native.quality) == (pure.findings, pure.quality)


def all_tables(**changes: Any) -> dict[str, Any]:
    prepared = {"prepared_type": Prepared, "prepared_fields": plain_init_fields(Prepared)}
    settings = pipeline._settings_tables()
    return {**native_tables(), **quality.native_tables(), **prepared, **settings, **changes}


FINDING = warning("$.user_data.ct", "ct_dropped", "ct was dropped", "§3.1")


@pytest.mark.parametrize("plain", [True, False], ids=["set-fields", "call-init"])
@pytest.mark.parametrize("findings", [[], [FINDING]], ids=["no-finding", "a-finding"])
def test_prepare_clean_builds_what_python_builds(plain: bool, findings: list[Finding]) -> None:
    """The Prepared (and MatchQuality) made in C equal Python's, whether C sets the fields
    itself or calls the dataclass."""
    tables = all_tables() if plain else all_tables(prepared_fields=None, quality_fields=None)
    try:
        cwire.configure(tables)
        for event in REALISTIC[:200]:
            user_data = normalized(event)
            quality._by_keys.clear()  # every estimate is made anew
            native = cwire.prepare_clean(event, user_data, NOW_S, OPTIONS[0], findings)
            quality._by_keys.clear()
            pure = pipeline._prepare_pure(event, user_data, NOW_S, OPTIONS[0], findings)
            assert (native is None) == (pure is None)
            if native is not None and pure is not None:
                assert type(native) is Prepared and type(native.quality) is MatchQuality
                assert same(native.payload, pure.payload)
                assert (native.findings, native.quality) == (pure.findings, pure.quality)
                assert native == pure and hash(native.quality) == hash(pure.quality)
    finally:
        assert pipeline.use_native(True)


def test_only_dataclasses_whose_init_just_sets_fields_are_built_in_c() -> None:
    """A __post_init__, a __new__ or no slots make C call the class instead."""

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    assert plain_init_fields(Prepared) == ("payload", "findings", "quality")
    assert plain_init_fields(Checked) is None
    assert plain_init_fields(Unslotted) is None


def test_the_wire_shares_and_copies_what_python_does() -> None:
    """user_data and scalar values are the event's own objects; contents, their items and
    extinfo are fresh copies, so changing the wire never changes the event."""
    web = next(e for e in REALISTIC if "contents" in e.get("custom_data", {}))
    app = next(e for e in REALISTIC if "app_data" in e)
    for event in (web, app):
        user_data = normalized(event)
        wire = cwire.clean_wire(event, user_data, NOW_S, OPTIONS[0])
        assert wire is not None
        assert wire["user_data"] is user_data
        assert wire["event_id"] is event["event_id"]
        if "custom_data" in wire:
            assert wire["custom_data"] is not event["custom_data"]
            assert wire["custom_data"]["contents"] is not event["custom_data"]["contents"]
            assert wire["custom_data"]["currency"] is event["custom_data"]["currency"]
        if "app_data" in wire:
            assert wire["app_data"]["extinfo"] is not event["app_data"]["extinfo"]
            assert wire["app_data"]["extinfo"] == event["app_data"]["extinfo"]


def test_float_or_huge_clock_readings_agree() -> None:
    """An integer now_s, or times past 2**52, are exact in C or left to Python."""
    event = next(e for e in REALISTIC if e["action_source"] == "chat")
    user_data = normalized(event)
    for now in (int(NOW_S), NOW_S, float("nan"), 2**60):
        for seconds in (event["event_time"], 2**53 + 1, -(2**53) - 1):
            probe = {**event, "event_time": seconds}
            native = cwire.clean_wire(probe, user_data, now, OPTIONS[0])
            if native is not None:
                assert same(native, clean_wire(probe, user_data, now, OPTIONS[0]))


def test_mappings_that_are_not_dicts_are_left_to_python() -> None:
    """Only plain dicts are walked in C."""
    event = REALISTIC[0]
    user_data = normalized(event)
    assert cwire.clean_wire(dict(event).items(), user_data, NOW_S, OPTIONS[0]) is None  # type: ignore[arg-type]
    assert cwire.clean_wire(event, list(user_data.items()), NOW_S, OPTIONS[0]) is None  # type: ignore[arg-type]


def test_estimate_is_the_python_estimate() -> None:
    """The remembered quality of a key sequence, or Python's answer for anything else."""
    for user_data in (*map(normalized, REALISTIC[:50]), {}, {"em": ""}, {"x": 1}, {"em": 0}):
        assert cwire.estimate(user_data) == estimate(user_data)
    frozen = MappingProxyType(normalized(REALISTIC[0]))
    assert cwire.estimate(frozen) == estimate(frozen)


def test_estimate_reads_the_same_memo() -> None:
    """A key sequence remembered by Python is answered from the memo by C."""
    user_data = normalized(REALISTIC[1])
    remembered = estimate(user_data)
    assert quality._by_keys.get(tuple(user_data)) is remembered
    assert cwire.estimate(user_data) is remembered


def _raise(*_args: object) -> None:
    raise ValueError("broken rule")


BREAKABLE = [
    ("clean_custom_name", {"event_name": "Start_Bot"}),
    ("url_match", {"event_source_url": "httpſ://x.io"}),
    ("classify", {"user_data": {"client_ip_address": "fe80::1", "em": "a@b.co"}}),
    ("custom_plan", {"custom_data": {"never_seen_before_property": 1}}),
    ("is_currency", {"custom_data": {"value": 1, "currency": "ÜSD"}}),
    (
        "check_messaging",
        {
            "event_name": "Purchase",
            "action_source": "business_messaging",
            "messaging_channel": "whatsapp",
            "custom_data": {"value": 1, "currency": "USD"},
            "user_data": {"ctwa_clid": "ARA1", "whatsapp_business_account_id": 10402012345},
        },
    ),
    ("user_data_is_clean", {"user_data": {"lead_id": "123456789012345"}}),
    ("estimate", {}),
]


@pytest.mark.parametrize(("rule", "change"), BREAKABLE, ids=[rule for rule, _ in BREAKABLE])
def test_errors_in_rule_functions_propagate_as_exceptions(
    rule: str, change: dict[str, Any]
) -> None:
    """A Python rule that raises makes clean_wire (or estimate) raise, never answer."""
    event = {**next(e for e in REALISTIC if e["action_source"] == "chat"), **change}
    user_data = {**normalized(event), **change.get("user_data", {})}
    try:
        cwire.configure(all_tables(**{rule: _raise}))
        with pytest.raises(ValueError, match="broken rule"):
            cwire.clean_wire(event, user_data, NOW_S, OPTIONS[0])
            cwire.estimate(MappingProxyType(user_data))
    finally:
        pipeline.use_native(True)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"event_keys": None}, TypeError),
        ({"extinfo_length": "16"}, TypeError),
        ({"prepared_fields": ("payload",)}, TypeError),
        ({"quality_type": estimate}, TypeError),
    ],
)
def test_configure_refuses_missing_or_wrong_tables(change: dict[str, Any], error: type) -> None:
    """A bad table is refused, and C stays unusable until configured again."""
    tables = all_tables(**change)
    try:
        with pytest.raises(error):
            cwire.configure(tables)
        with pytest.raises(RuntimeError):
            cwire.clean_wire({}, {}, NOW_S, OPTIONS[0])
        with pytest.raises(RuntimeError):
            cwire.estimate({})
        tables.pop(next(iter(change)))
        with pytest.raises(KeyError):
            cwire.configure(tables)
        with pytest.raises(TypeError):
            cwire.configure([])  # type: ignore[arg-type]
    finally:
        assert pipeline.use_native(True)


def test_the_pure_path_can_be_forced_and_restored() -> None:
    """use_native(False) makes prepare take the Python functions; True brings C back."""
    assert not pipeline.use_native(False)
    assert pipeline._prepare_clean is pipeline._prepare_pure
    assert pipeline.use_native(True)
    assert pipeline._prepare_clean is cwire.prepare_clean


def test_without_the_module_the_pure_path_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unbuilt module is not an error: prepare runs in Python."""
    monkeypatch.setitem(sys.modules, "capigate._cwire", None)
    assert not pipeline.use_native(True)
    assert prepare(REALISTIC[0], now_s=NOW_S).payload


def test_memory_stays_flat_over_many_calls() -> None:
    """No reference is leaked on any path (clean events, events that are not, times C leaves
    to Python): allocated blocks stay flat over 100k calls, and RSS over 200k more."""
    events = [(e, normalized(e)) for e in REALISTIC[:200]]
    events += [({**e, "event_time": 2**60}, u) for e, u in events[:20]]
    events += [({**e, "custom_data": {"value": -1, "currency": "USD"}}, u) for e, u in events[:20]]
    options = OPTIONS[0]
    # Python's estimate of an unremembered key sequence fills tuple free lists for a long
    # while; C's own work is what is measured, so those go by small key sequences only.
    qualities = [u for _, u in events if quality.KEY_POINTS.keys() >= u.keys()]
    qualities += [{"em": ""}, {}, {"x": "1"}]

    def run(count: int) -> None:
        for i in range(count):
            event, user_data = events[i % len(events)]
            cwire.clean_wire(event, user_data, NOW_S, options)
            cwire.estimate(qualities[i % len(qualities)])
            if i % 4 == 0:
                cwire.prepare_clean(event, qualities[i % len(qualities)], NOW_S, options, [])

    assert_memory_flat(run, max_block_growth=MAX_BLOCK_GROWTH)


IPV6_LIKE = st.one_of(
    st.ip_addresses(v=6).map(str),
    st.ip_addresses(v=6).map(lambda address: address.exploded.upper()),
    st.text(alphabet="0123456789abcdefABCDEF:.%/g ", max_size=45),
    st.sampled_from(
        ["::", "::1", "1::", ":1", "1:", ":::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
         "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "2a02::1%eth0",
         "::ffff:1.2.3.4", "2002::1", "2001:db8::1", "2001::1", "ff02::1", "fe80::1",
         "2a02:4780:1::1", " 2a02::1", "2a02::1 ", "2a02:0000:0000:0000:0000:0000:0000:0001"]
    ),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(address=IPV6_LIKE)
def test_ip_verdicts_are_classify_verdicts(address: str) -> None:
    """C's public-address check (IPv4 first octets, IPv6 first hextets from ipaddress's tables)
    says what normalize.ip.classify says, for valid and malformed addresses alike."""
    event = next(e for e in REALISTIC if e["action_source"] == "chat")
    user_data = {"em": SHA, "client_ip_address": address}
    native = cwire.clean_wire(event, user_data, NOW_S, OPTIONS[0])
    pure = clean_wire(event, user_data, NOW_S, OPTIONS[0])
    assert (native is None) == (pure is None)


def test_public_ipv6_blocks_are_global_for_ipaddress() -> None:
    """The first hextets C treats as public are global at both ends of their block."""
    hextets = native_tables()["public_ipv6_first_hextets"]
    assert isinstance(hextets, bytes)
    public = [h for h in range(len(hextets)) if hextets[h]]
    assert 0x2A02 in public
    for h in public[:: max(1, len(public) // 200)]:
        for address in (f"{h:x}::", f"{h:x}:ffff:ffff:ffff:ffff:ffff:ffff:ffff"):
            assert ipaddress.ip_address(address).is_global
    assert not ipaddress.ip_address("2001:db8::1").is_global
    assert not hextets[0x2001] and not hextets[0] and not hextets[0xFE80]


ESTIMATE_KEYS = st.sampled_from([*quality.KEY_POINTS, "partner_id", "lead_ids", "x"])
ESTIMATE_VALUES = st.sampled_from([SHA, "x", "", None, 0, 1, [], ["a"], {}])


@settings(max_examples=300, deadline=None)
@given(user_data=st.dictionaries(ESTIMATE_KEYS, ESTIMATE_VALUES, max_size=12))
def test_estimates_made_in_c_are_python_estimates(user_data: dict[str, Any]) -> None:
    """Points, pair bonuses, the score cap and what is remembered agree with quality.estimate."""
    quality._by_keys.clear()
    native = cwire.estimate(user_data)
    remembered = dict(quality._by_keys)
    quality._by_keys.clear()
    assert native == estimate(user_data)
    assert remembered == quality._by_keys


def _fresh(key: str) -> str:
    """An equal str that is another object (not the interned one)."""
    return "".join([key[:1], key[1:]])


@settings(max_examples=200, deadline=None)
@given(
    sequences=st.lists(
        st.tuples(st.lists(ESTIMATE_KEYS, max_size=8, unique=True), st.booleans()),
        min_size=2,
        max_size=6,
    )
)
def test_estimates_in_a_row_follow_each_dicts_own_keys(
    sequences: list[tuple[list[str], bool]],
) -> None:
    """C takes the previous key tuple again only for the very same key objects in the same
    order: dicts in a row with the same, reordered, fewer or equal-but-new keys all agree."""
    for keys, fresh in sequences:
        user_data = {(_fresh(k) if fresh else k): SHA for k in keys}
        native = cwire.estimate(user_data)
        assert native == estimate(user_data)
        remembered = quality._by_keys.get(tuple(user_data))
        assert remembered is None or remembered is native
