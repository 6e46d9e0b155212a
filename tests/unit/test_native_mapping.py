"""The C usual way of the plan mapping (``capigate._cmapping``) gives exactly the Python
``_usual``'s results: realistic, random and broken items over the default plan and custom
plans, compared both ways (values and dict key order), the bench event decided in C, and the
module's memory staying flat."""

from __future__ import annotations

import copy
import enum
import json
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from capigate.demo.journey import Sender, journey
from capigate.demo.people import make_person
from capigate.plan import (
    Plan,
    PlanDefaults,
    PlanEvent,
    SourceInfo,
    default_plan,
    load_plan,
    mapping,
    native,
)
from capigate.plan.mapping import ITEM_FIELDS, Mapped, to_meta_event

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from bench_ingest import event as bench_event

from tests.native import assert_memory_flat, require_native
from tests.unit import mapping_kit
from tests.unit.mapping_kit import (
    BOT,
    CLEAN_TEXT,
    CONTEXT_KEYS,
    EVENTS,
    NOW_S,
    PROPERTY_KEYS,
    SCALAR,
    SERVER,
    SOURCES,
    TEXT,
    USER_KEYS,
    WEBSITE,
    ordered,
)

_cmapping = require_native("_cmapping")

SENDERS = {Sender.WEBSITE: WEBSITE, Sender.BOT: BOT, Sender.BILLING: SERVER}
PLANS = (
    *mapping_kit.PLANS,
    Plan(  # rules as code builds them: no event_id template, odd values
        {
            "raw": PlanEvent("raw", "Lead", "website", "", frozenset({"website", "bot"})),
            "odd": PlanEvent(
                "odd",
                "Other",
                "website",
                "odd_{user_id}",
                frozenset({"website"}),
                custom_fields=("a", "b"),
                custom_constants={"a": [1, 2], "z": None},
                required=("b",),
            ),
        },
        PlanDefaults(currency="UZS"),
    ),
)
TABLES = {id(plan): native.plan_tables(plan) for plan in PLANS}


@pytest.fixture(autouse=True)
def _native_on() -> Iterator[None]:
    assert mapping.use_native(True)
    yield
    mapping.use_native(True)


def _same(native_way: Mapped | None, python_way: Mapped | None) -> None:
    assert native_way == python_way
    if native_way is not None and python_way is not None:
        assert type(native_way) is Mapped
        assert ordered(native_way.event) == ordered(python_way.event)


def decided(item: Any, plan: Plan, source: SourceInfo, now_s: float = NOW_S) -> Mapped | None:
    """What C decides alone (None: it leaves the item to Python)."""
    return _cmapping.decide(item, TABLES[id(plan)], source, now_s)  # type: ignore[no-any-return]


def check_both_ways(item: Any, plan: Plan, source: SourceInfo, now_s: float = NOW_S) -> None:
    """C decides only what ``_usual`` decides, identically, and leaves the item untouched;
    ``to_meta_event`` gives the same answer with and without C."""
    before = copy.deepcopy(item)
    try:
        python_way = mapping._usual(item, plan, source, now_s)
    except (ValueError, OverflowError):  # int(now_s) of nan or inf: C leaves it to Python
        assert decided(item, plan, source, now_s) is None
        return
    native_way = decided(item, plan, source, now_s)
    if native_way is not None:
        _same(native_way, python_way)
    assert item == before
    with_c = _outcome(item, plan, source, now_s)
    mapping.use_native(False)
    try:
        without_c = _outcome(item, plan, source, now_s)
    finally:
        mapping.use_native(True)
    if isinstance(with_c, Mapped) and isinstance(without_c, Mapped):
        _same(with_c, without_c)
    assert with_c == without_c


def _outcome(item: Any, plan: Plan, source: SourceInfo, now_s: float) -> Mapped | str:
    """to_meta_event's result, or the name of the error it raises (the long way has its own
    limits, e.g. a user key that is not a str: both ways must meet them alike)."""
    try:
        return to_meta_event(item, plan, source=source, now_s=now_s)
    except Exception as exc:  # compared below, not hidden
        return type(exc).__name__


# --- build and switch ---------------------------------------------------------------------


def test_ci_builds_the_native_module() -> None:
    """Under CI the module must import, so CI never measures or tests the slow path alone."""
    if os.environ.get("CI") == "true":
        assert mapping._load_native() is not None


def test_item_fields_are_the_mappings() -> None:
    """C knows exactly the item fields the mapping knows."""
    assert frozenset(_cmapping.ITEM_FIELDS) == ITEM_FIELDS


def test_the_pure_way_can_be_forced_and_restored() -> None:
    """use_native(False) makes to_meta_event take _usual; True brings C back."""
    assert not mapping.use_native(False)
    assert mapping._usual_way is mapping._usual
    assert mapping.use_native(True)
    assert mapping._usual_way is _cmapping.usual


def test_without_the_module_the_pure_way_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unbuilt module is not an error: the mapping runs in Python."""
    monkeypatch.setitem(sys.modules, "capigate._cmapping", None)
    assert mapping._load_native() is None
    assert not mapping.use_native(True)
    item = bench_event("t", 1, int(NOW_S))
    assert to_meta_event(item, default_plan(), source=WEBSITE, now_s=NOW_S).plan_key == "cta_click"


# --- the usual events are decided in C ----------------------------------------------------


def test_the_bench_event_is_decided_in_c() -> None:
    """The benchmark's event (PII, cookies, UTM properties, a page URL) needs no Python."""
    for n in range(50):
        item = bench_event("b", n, int(NOW_S))
        native_way = decided(item, PLANS[0], SOURCES[5])
        assert native_way is not None
        _same(native_way, mapping._usual(item, PLANS[0], SOURCES[5], NOW_S))
        assert native_way.event["user_data"]["em"] == f"user{n}@example.com"


def test_templated_ids_and_numeric_telegram_ids_are_decided_in_c() -> None:
    """event_id templates over every section (and ``{ts}``, ``{{``), numeric ids, a blank
    value before another key for the same Meta key: in C."""
    items = [
        ({"event": "landing_view", "context": {"session_id": " s-1 "}}, PLANS[0], WEBSITE),
        (
            {"event": "checkout", "user": {"telegram_id": 123456789, "user_id": "u-42"},
             "properties": {"order_id": "o-7", "value": 49000, "currency": "UZS"}},
            PLANS[1], BOT,
        ),
        (
            {"event": "signup", "event_time": 1_763_000_000, "user": {"phone": "+998901234567"},
             "context": {"session_id": 77}},
            PLANS[1], WEBSITE,
        ),
        ({"event": "renewal", "user": {"telegram_id": 5, "external_id": "x"},
          "properties": {"transaction_id": "t"}},
         PLANS[1], SOURCES[4]),
    ]  # fmt: skip
    items.append(({"event": "cta_click", "user": {"email": " ", "em": "a@b.uz"}, "event_id": 1},
                  PLANS[0], WEBSITE))  # fmt: skip
    ids = []
    for item, plan, source in items:
        native_way = decided(item, plan, source)
        assert native_way is not None, item
        _same(native_way, mapping._usual(item, plan, source, NOW_S))
        ids.append(native_way.event["event_id"])
    assert ids == ["viewcontent_s-1", "order_o-7_u-42", "signup_{x}_77_1763000000", "tx5", "1"]


def test_the_checkout_source_gets_its_own_action_source_in_c() -> None:
    """action_source_by_source by source name, by kind, and the plan's default."""
    properties = {"order_id": "o", "value": 1, "currency": "UZS"}
    item = {"event": "checkout", "event_id": "e", "properties": properties}
    chosen = [decided(item, PLANS[1], source) for source in (SOURCES[6], BOT, WEBSITE)]
    names = ["system_generated", "chat", "website"]
    assert [m.event["action_source"] if m else None for m in chosen] == names


def test_seed_journeys_map_the_same_both_ways() -> None:
    """Every item of simulated users of the default plan (landing page, bot, billing) maps the
    same with and without C, and the web items are decided in C."""
    rng = random.Random(3)
    web = in_c = 0
    for index in range(25):
        person = make_person(rng, index)
        for action in journey(person, rng, arrive_s=NOW_S - 86_400 * 30, end_s=NOW_S):
            source = SENDERS[action.sender]
            check_both_ways(action.item, PLANS[0], source)
            if action.sender is Sender.WEBSITE:
                web += 1
                in_c += decided(action.item, PLANS[0], source) is not None
    assert web > 0
    assert in_c == web


# --- random and broken items --------------------------------------------------------------


class Number(enum.IntEnum):
    SEVEN = 7


class Text(str):
    pass


_ODD = st.sampled_from([Text("t"), Text(""), Number.SEVEN, (1,), b"x", 1.5j])
_VALUE = st.one_of(
    SCALAR, st.lists(SCALAR, max_size=2), st.dictionaries(TEXT, SCALAR, max_size=1), _ODD
)


def _section(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    section = st.dictionaries(st.sampled_from(keys), values, max_size=6)
    odd_keys = st.dictionaries(st.sampled_from([1, Text("email"), ("x",)]), TEXT, max_size=1)
    return st.one_of(section, section, section, st.none(), st.just([]), odd_keys)


_CLEAN = st.one_of(CLEAN_TEXT, CLEAN_TEXT, st.sampled_from([7, 2**53, True, None, 1.5]))
_CLEAN_ITEMS = st.fixed_dictionaries(
    {"event": st.sampled_from(["cta_click", "landing_view", "checkout", "signup", "renewal"])},
    optional={
        "event_id": st.one_of(CLEAN_TEXT, st.integers(0, 9), st.none()),
        "event_time": st.one_of(st.integers(1_700_000_000, 1_800_000_000), st.none()),
        "action_source": st.none(),
        "user": st.dictionaries(st.sampled_from(USER_KEYS), _CLEAN, max_size=6),
        "properties": st.dictionaries(st.sampled_from(PROPERTY_KEYS), _CLEAN, max_size=6),
        "context": st.dictionaries(st.sampled_from(CONTEXT_KEYS), _CLEAN, max_size=6),
    },
)
_NOISY_ITEMS = st.fixed_dictionaries(
    {},
    optional={
        "event": st.one_of(st.sampled_from(EVENTS), SCALAR, _ODD),
        "event_id": st.one_of(TEXT, SCALAR, _ODD),
        "event_time": st.one_of(st.integers(1_700_000_000, 1_800_000_000), SCALAR, _ODD),
        "action_source": st.one_of(st.sampled_from(["website", "chat", "app"]), SCALAR),
        "user": _section(USER_KEYS, st.one_of(TEXT, _VALUE)),
        "properties": _section(PROPERTY_KEYS, st.one_of(TEXT, _VALUE)),
        "context": _section(CONTEXT_KEYS, st.one_of(TEXT, _VALUE)),
        "extra": SCALAR,
    },
)
_PLAN_INDEX = st.integers(0, len(PLANS) - 1)  # shown as a number, not a whole plan
_NOW = st.one_of(
    st.just(NOW_S), st.just(NOW_S), st.integers(0, 2**40), st.sampled_from([-1.5, 2.0**70])
)


@settings(max_examples=1500, deadline=None)
@given(item=_NOISY_ITEMS, plan=_PLAN_INDEX, source=st.sampled_from(SOURCES))
@example({"event": "cta_click", "properties": {Text("b"): 1}}, 0, WEBSITE)
@example({"event": Text("cta_click"), "event_id": "e"}, 0, WEBSITE)
@example({"event": "cta_click", "event_id": "e", "context": {"page_url": Text("u")}}, 0,
         WEBSITE)  # fmt: skip
def test_any_item_maps_the_same_both_ways(item: Any, plan: int, source: SourceInfo) -> None:
    """Whatever the item (wrong types, subclasses, unknown keys): C decides only what Python
    decides, identically."""
    check_both_ways(item, PLANS[plan], source)


@settings(max_examples=2500, deadline=None)
@given(item=_CLEAN_ITEMS, plan=_PLAN_INDEX, source=st.sampled_from(SOURCES), now_s=_NOW)
@example(
    {
        "event": "checkout",
        "properties": {"order_id": "o", "value": ""},
        "context": {"value": 3, "currency": "UZS"},
        "user": {"user_id": 2**53 - 1},
    },
    1,
    BOT,
    NOW_S,
)
@example(
    {"event": "cta_click", "event_id": "e", "context": {"test_event_code": ""}}, 0, WEBSITE, NOW_S
)
@example({"event": "landing_view", "context": {"session_id": "s"}}, 0, WEBSITE, float("nan"))
@example(
    {"event": "odd", "properties": {"b": 1}, "user": {"telegram_id": -(2**53) + 1}},
    4,
    WEBSITE,
    NOW_S,
)
@example({"event": "checkout", "event_id": 2**63, "properties": {"order_id": "o", "value": 1}},
         1, BOT, NOW_S)  # fmt: skip
def test_plain_items_map_the_same_both_ways(
    item: Any, plan: int, source: SourceInfo, now_s: float
) -> None:
    """Items of plan keys with plain values (most of them decided in C) map identically."""
    check_both_ways(item, PLANS[plan], source, now_s)


# (plan, key, source) that the usual way maps when the item carries what the rule needs
_USUAL_CASES = [
    (0, "landing_view", WEBSITE), (0, "cta_click", WEBSITE), (0, "cta_click", SOURCES[5]),
    (0, "drop_off", WEBSITE), (0, "drop_off", SOURCES[4]),
    *((i, "checkout", source) for i in (1, 2, 3) for source in (BOT, WEBSITE, SERVER, SOURCES[6])),
    *((i, key, WEBSITE) for i in (1, 2, 3) for key in ("signup", "cta_click")),
    (1, "signup", BOT), (1, "renewal", BOT), (1, "renewal", SOURCES[4]),
    (4, "raw", WEBSITE), (4, "raw", BOT), (4, "odd", WEBSITE),
]  # fmt: skip
_GOOD_TEXT = st.sampled_from(
    ["a", " b ", "o-1", "Ольга", " \u00a0x\u2003", "\tq\n", "+998 90 123-45-67", "x@y.uz", "0", " "]
)
_GOOD_ID = st.one_of(
    _GOOD_TEXT, st.integers(-(2**53) + 1, 2**53 - 1), st.sampled_from([2**53 - 1, 1 - 2**53])
)
_GOOD_VALUE = st.one_of(
    _GOOD_TEXT, _GOOD_ID, st.floats(allow_nan=False), st.booleans(),
    st.lists(_GOOD_TEXT, max_size=2), st.just({"k": "v"}), st.sampled_from(["", None]),
)  # fmt: skip
_USER_VALUES = {
    "email": _GOOD_TEXT, "phone": _GOOD_TEXT, "first_name": _GOOD_TEXT, "ip": _GOOD_TEXT,
    "user_agent": _GOOD_TEXT, "fbp": _GOOD_TEXT, "fbclid": _GOOD_TEXT, "country": _GOOD_TEXT,
    "telegram_id": _GOOD_ID, "user_id": _GOOD_ID, "external_id": _GOOD_ID, "em": _GOOD_TEXT,
}  # fmt: skip


@st.composite
def usual_items(draw: st.DrawFn) -> tuple[dict[str, Any], int, SourceInfo]:
    """An item of a plan key with what its rule needs, in the shapes senders send."""
    plan, key, source = draw(st.sampled_from(_USUAL_CASES))
    rule = PLANS[plan].events[key]
    names = sorted({*rule.declared, "utm_term", "extra"} - {"phone_number"})
    properties = draw(st.dictionaries(st.sampled_from(names), _GOOD_VALUE, max_size=5))
    properties.update({name: draw(_GOOD_ID) for name in rule.required if name in names})
    if rule.value_required and draw(st.booleans()):
        properties["currency"] = "UZS"
    keys = st.sampled_from(sorted(_USER_VALUES))
    user = draw(st.dictionaries(keys, st.just(""), max_size=6))
    user = {name: draw(_USER_VALUES[name]) for name in user}
    if "phone_number" in rule.required:
        user["phone"] = "+998901234567"
    context_names = st.sampled_from(
        ["session_id", "page_url", "referrer", "test_event_code", *names]
    )
    context = draw(st.dictionaries(context_names, _GOOD_VALUE, max_size=4))
    item: dict[str, Any] = {"event": key, "user": user, "properties": properties}
    if context or draw(st.booleans()):
        item["context"] = context
    if not rule.event_id or draw(st.integers(0, 3)) == 0:
        item["event_id"] = draw(_GOOD_ID)
    if draw(st.booleans()):
        item["event_time"] = draw(st.integers(1_700_000_000, 1_800_000_000))
    return item, plan, source


@settings(max_examples=2500, deadline=None)
@given(case=usual_items())
def test_usual_items_are_decided_the_same_in_c(
    case: tuple[dict[str, Any], int, SourceInfo],
) -> None:
    """Items the usual way takes (unicode text and spaces, ids at the 2**53 bounds, empty
    values, context fallbacks, constants): C decides them exactly as Python does."""
    item, plan, source = case
    check_both_ways(item, PLANS[plan], source)


def test_most_usual_items_are_decided_in_c() -> None:
    """What the Python usual way maps, C maps too (nothing it covers goes back to Python)."""
    seen = {"python": 0, "c": 0}

    @settings(max_examples=500, deadline=None, database=None)
    @given(case=usual_items())
    def count(case: tuple[dict[str, Any], int, SourceInfo]) -> None:
        item, plan, source = case
        if mapping._usual(item, PLANS[plan], source, NOW_S) is not None:
            seen["python"] += 1
            seen["c"] += decided(item, PLANS[plan], source) is not None

    count()
    assert seen["python"] > 100
    assert seen["c"] == seen["python"]


def test_many_plans_in_turn_each_use_their_own_tables() -> None:
    """More plans than C keeps tables for, in turn: each item is mapped by its own plan."""
    plans = [
        load_plan(mapping_kit.PLAN_TEXT.replace("Purchase", f"Purchase{i}") % "keep")
        for i in range(7)
    ]
    properties = {"order_id": "o", "value": 1, "currency": "UZS"}
    item = {"event": "checkout", "event_id": "e", "properties": properties}
    for _ in range(3):
        for i, plan in enumerate(plans):
            mapped = to_meta_event(item, plan, source=BOT, now_s=NOW_S)
            assert mapped.event["event_name"] == f"Purchase{i}"


def test_a_new_source_object_with_other_claims_is_read_again() -> None:
    """The source is remembered by identity only: another SourceInfo is read afresh."""
    item = {"event": "cta_click", "event_id": "e"}
    assert to_meta_event(item, PLANS[0], source=WEBSITE, now_s=NOW_S).ok
    browser_only_bot = SourceInfo("landing", "website", frozenset({"chat"}))
    refused = to_meta_event(item, PLANS[0], source=browser_only_bot, now_s=NOW_S)
    assert [f.rule for f in refused.findings] == ["action_source_not_allowed"]


# --- memory and errors --------------------------------------------------------------------


def test_memory_stays_flat_over_many_calls() -> None:
    """No reference is leaked on any path (decided, left to Python, failing): allocated blocks
    stay flat over 100k calls, and RSS over 200k more."""
    items: list[tuple[Any, Plan, SourceInfo]] = [
        (bench_event("m", n, int(NOW_S)), PLANS[0], WEBSITE) for n in range(50)
    ]
    items += [
        ({"event": "landing_view", "context": {"session_id": "s"}}, PLANS[0], WEBSITE),
        ({"event": "checkout", "user": {"telegram_id": 1, "user_id": "u"},
          "properties": {"order_id": "o", "value": 1, "extra": 2}}, PLANS[1], BOT),
        ({"event": "checkout", "properties": {"order_id": "o"}}, PLANS[1], BOT),  # no value
        ({"event": "cta_click", "user": {"email": ["a@b.co"]}}, PLANS[0], WEBSITE),
        ({"event": "cta_click", "event_id": 2**70}, PLANS[0], WEBSITE),
        ({"event": "signup", "user": {"phone": "1"}, "context": {"session_id": 2**63}},
         PLANS[1], WEBSITE),
        ({"event": "nope"}, PLANS[0], WEBSITE),
    ]  # fmt: skip
    bad_tables = ({"cta_click": ("too", "short")}, True)
    fresh_keys = json.dumps(items[0][0])  # json.loads makes new key objects every time

    def run(calls: int) -> None:
        for i in range(calls):
            item, plan, source = items[i % len(items)]
            if i % 4 == 1:
                item = json.loads(fresh_keys)  # the key slots are replaced, again and again
            _cmapping.usual(item, plan, source, NOW_S)
            _cmapping.decide(item, TABLES[id(plan)], source, NOW_S)
            if i % 8 == 0:
                with pytest.raises(TypeError):
                    _cmapping.decide(items[0][0], bad_tables, WEBSITE, NOW_S)

    assert_memory_flat(run, max_block_growth=2_000)  # the key slots fill up in the first half


def test_bad_arguments_raise() -> None:
    """Wrong arguments and tables are errors, not crashes; a failing fallback's error passes."""
    item = {"event": "cta_click", "event_id": "e"}
    with pytest.raises(TypeError):
        _cmapping.usual(item, PLANS[0], WEBSITE)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _cmapping.decide(item, ["not", "tables"], WEBSITE, NOW_S)  # type: ignore[arg-type]
    rule = TABLES[id(PLANS[0])][0]["cta_click"]
    broken = {"cta_click": (*rule[:10], (("literal", "session_id", ("x",)),))}
    with pytest.raises(TypeError):
        _cmapping.decide({"event": "cta_click"}, (broken, True), WEBSITE, NOW_S)
    with pytest.raises(KeyError):
        _cmapping.configure({})
    with pytest.raises(RuntimeError):
        _cmapping.usual(item, PLANS[0], WEBSITE, NOW_S)  # not configured after a failure
    mapping.use_native(True)

    def boom(*args: object) -> None:
        raise ValueError("boom")

    _cmapping.configure(native.configuration(boom, Mapped))
    try:
        with pytest.raises(ValueError, match="boom"):
            _cmapping.usual({"event": "nope"}, PLANS[0], WEBSITE, NOW_S)
        assert _cmapping.usual(item, PLANS[0], WEBSITE, NOW_S) is not None
    finally:
        mapping.use_native(True)
