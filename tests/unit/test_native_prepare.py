"""``capigate._cwire.prepare``, the whole of ``pipeline.prepare`` in C for a clean event, gives
exactly what the Python function gives, or steps aside (None); it follows the settings Python
reads (region, birth year, memos, options) and leaks nothing."""

from __future__ import annotations

import copy
import sys
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from capigate import pipeline
from capigate.normalize import memo, userdata
from capigate.pipeline import DAY_S, PipelineOptions, Prepared
from capigate.validate import ValidationOptions
from tests.native import assert_memory_flat, require_native
from tests.unit.test_native_wire import (
    MAX_BLOCK_GROWTH,
    NOW_S,
    REALISTIC,
    all_tables,
    realistic_events,
    same,
)
from tests.unit.test_validate_clean import OPTIONS

cwire = require_native("_cwire")
require_native("_cuserdata")

PIPELINES = [
    PipelineOptions(default_region=region, validation=options)
    for region in (None, "UZ", "US")
    for options in OPTIONS
]
# Clock readings: a float and an int now, a day's edges, the first of a year (birth dates of
# "this year" change verdict there).
CLOCKS = [NOW_S, int(NOW_S), 1_767_225_600.0, 1_767_225_599.999, 1_767_225_600, 0.5]
CHAT = next(e for e in REALISTIC if e["action_source"] == "chat")
CLEAN = {**CHAT, "user_data": {"em": "a@b.co", "ct": "Tashkent", "client_ip_address": "8.8.8.8"}}


@pytest.fixture(autouse=True)
def _native_on() -> Iterator[None]:
    assert pipeline.use_native(True)
    assert userdata.use_native(True)
    yield
    pipeline.use_native(True)
    userdata.use_native(True)


def assert_same_prepared(native: Prepared, pure: Prepared) -> None:
    assert same(native.payload, pure.payload)
    assert (native.findings, native.quality) == (pure.findings, pure.quality)


def assert_agrees(event: Any, now_s: float, options: Any) -> Prepared | None:
    """C answers as the Python prepare does, or steps aside; the input is left as it was."""
    before = copy.deepcopy(event)
    native = cwire.prepare(event, now_s, options)
    assert event == before
    pure = pipeline._prepare(event, now_s, options)
    if native is not None:
        assert type(native) is Prepared
        assert_same_prepared(native, pure)
        assert native.ok and not native.findings
    return native


@settings(max_examples=600, deadline=None)
@given(
    event=realistic_events(),
    options=st.sampled_from(PIPELINES),
    now_s=st.sampled_from(CLOCKS),
)
def test_realistic_and_broken_events_agree(
    event: dict[str, Any], options: PipelineOptions, now_s: float
) -> None:
    """Payload, findings and quality are Python's whenever C answers, whatever the clock."""
    assert_agrees(event, now_s, options)


VALUES = [
    "2026-06-01", "2025-12-31", "01/02/1990", "31.12.1999", "1990", "90 123 45 67",
    "650 555 1212", "+998901234567", " A@B.CO ", "Valéry", "x", "", " ", "Uzbekistan",
    "SW1A 1AA", "California", "München", "ayol", "Ω",
]  # fmt: skip
USER_KEYS = ["db", "ph", "em", "fn", "ge", "country", "zp", "st", "ct"]


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(USER_KEYS),
    value=st.sampled_from(VALUES),
    options=st.sampled_from(PIPELINES),
    now_s=st.sampled_from(CLOCKS),
)
def test_user_data_values_agree_in_every_region_and_year(
    key: str, value: str, options: PipelineOptions, now_s: float
) -> None:
    """National phones, birth dates near the year's turn, blanks and unknown words: C gives
    Python's result or leaves the event to it (a phone without a country code warns)."""
    event = copy.deepcopy(CHAT)
    event["user_data"][key] = value
    assert_agrees(event, now_s, options)


@pytest.mark.parametrize("options", PIPELINES[:3])
def test_clean_realistic_events_are_answered_in_c(options: PipelineOptions) -> None:
    """C never steps aside where the event is clean (no silent slow path on real traffic),
    once the memos know the non-ASCII values (the first of each goes the long way)."""
    for event in REALISTIC:
        pipeline.prepare(event, now_s=NOW_S, options=options)
    answered = 0
    for event in REALISTIC:
        native = assert_agrees(event, NOW_S, options)
        pure = pipeline._prepare(event, NOW_S, options)
        assert (native is None) == bool(pure.findings)
        answered += native is not None
    assert answered > len(REALISTIC) // 3


@settings(max_examples=500, deadline=None)
@given(
    now_s=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=-4 * DAY_S, max_value=4 * DAY_S),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(min_value=-4 * DAY_S, max_value=4 * DAY_S),
        st.integers(min_value=-3, max_value=3).map(lambda d: d * DAY_S + 0.0),
        st.integers(min_value=-3, max_value=3).map(lambda d: d * DAY_S - 5e-324),
        st.booleans(),
    )
)
@example(now_s=NOW_S)
@example(now_s=-0.0)
@example(now_s=2.0**63)
def test_the_day_of_now_is_pythons(now_s: float) -> None:
    """The birth-year limit comes from the day int(now_s // DAY_S), as Python computes it;
    a clock C cannot read exactly is left to Python."""
    days: list[int] = []

    def year_of(day: int) -> int:
        days.append(day)
        return pipeline._current_year(int(NOW_S // DAY_S))

    try:
        cwire.configure(all_tables(current_year=year_of))
        cwire.prepare(CLEAN, now_s, PIPELINES[0])
    finally:
        assert pipeline.use_native(True)
    if days:
        assert type(now_s) in (int, float)
        assert days == [int(now_s // DAY_S)]


def test_a_new_day_asks_for_the_year_again() -> None:
    """The year is asked once per day, not once per event."""
    days: list[int] = []

    def year_of(day: int) -> int:
        days.append(day)
        return pipeline._current_year(day)

    try:
        cwire.configure(all_tables(current_year=year_of))
        for now_s in (NOW_S, NOW_S + 1, NOW_S + DAY_S, NOW_S + DAY_S + 1, NOW_S):
            cwire.prepare(CLEAN, now_s, PIPELINES[0])
    finally:
        assert pipeline.use_native(True)
    day = int(NOW_S // DAY_S)
    assert days == [day, day + 1, day]


def test_a_cleared_memo_is_seen() -> None:
    """After memo.clear(), C fills the new memo tables, as Python does."""
    assert cwire.prepare(CLEAN, NOW_S, PIPELINES[0]) is not None
    memo.clear()
    assert cwire.prepare(CLEAN, NOW_S, PIPELINES[0]) is not None
    year = pipeline._current_year(int(NOW_S // DAY_S))
    assert memo.tables(None, year)[1]["ct"]


def test_regions_and_options_are_followed_call_by_call() -> None:
    """Alternating regions and validation options never answer with the previous ones."""
    event = copy.deepcopy(CHAT)
    event["user_data"]["ph"] = "90 123 45 67"
    event["event_time"] = int(NOW_S) - 3 * DAY_S
    narrow = PipelineOptions("UZ", ValidationOptions(max_age_s=DAY_S))
    for options in [*PIPELINES, narrow, *PIPELINES[::-1], narrow] * 2:
        assert_agrees(event, NOW_S, options)
    assert cwire.prepare(event, NOW_S, narrow) is None
    assert cwire.prepare(event, NOW_S, PIPELINES[0]) is None  # no region: the phone warns


def test_with_the_pure_normalizer_prepare_is_left_to_python() -> None:
    """userdata.use_native(False) makes C step aside, so the pure short way really runs."""
    assert cwire.prepare(CLEAN, NOW_S, PIPELINES[0]) is not None
    assert not userdata.use_native(False)
    assert cwire.prepare(CLEAN, NOW_S, PIPELINES[0]) is None
    assert pipeline.prepare(CLEAN, now_s=NOW_S, options=PIPELINES[0]).ok


def test_other_shapes_and_types_are_left_to_python() -> None:
    """A non-dict event or user_data, options of another type: None, never a guess."""
    event = CLEAN
    options = PIPELINES[0]
    assert cwire.prepare(event, NOW_S, options) is not None
    fake = SimpleNamespace(default_region=None, validation=OPTIONS[0])
    assert cwire.prepare(list(event.items()), NOW_S, options) is None
    assert (
        cwire.prepare({**event, "user_data": list(event["user_data"].items())}, NOW_S, options)
        is None
    )
    assert (
        cwire.prepare({k: v for k, v in event.items() if k != "user_data"}, NOW_S, options) is None
    )
    assert cwire.prepare(event, NOW_S, fake) is None
    assert cwire.prepare(event, "1763800000", options) is None
    with pytest.raises(TypeError):
        cwire.prepare(event, NOW_S)  # type: ignore[call-arg]


def _raise(*_args: object) -> None:
    raise ValueError("broken rule")


@pytest.mark.parametrize("rule", ["current_year", "memo_tables"])
def test_errors_in_settings_functions_propagate(rule: str) -> None:
    """A settings function that raises makes prepare raise, never answer."""
    try:
        cwire.configure(all_tables(**{rule: _raise}))
        with pytest.raises(ValueError, match="broken rule"):
            cwire.prepare(CLEAN, NOW_S, PIPELINES[0])
    finally:
        assert pipeline.use_native(True)


def test_memory_stays_flat_over_many_calls() -> None:
    """No reference is leaked, on clean events, on events left to Python, across settings:
    allocated blocks stay flat over 100k calls, and RSS over 200k more."""
    events = [copy.deepcopy(e) for e in REALISTIC[:200]]
    events += [{**e, "event_time": 2**60} for e in events[:20]]
    events += [{**e, "user_data": {**e["user_data"], "ph": "650 555 1212"}} for e in events[:20]]
    options = [PIPELINES[0], PIPELINES[4], PIPELINES[8]]
    clocks = [NOW_S, NOW_S + DAY_S, int(NOW_S)]

    def run(count: int) -> None:
        for i in range(count):
            cwire.prepare(events[i % len(events)], clocks[i % 3], options[i % 7 % 3])

    assert_memory_flat(run, max_block_growth=MAX_BLOCK_GROWTH)


def _fresh(text: str) -> str:
    """An equal str that is another object than the interned one."""
    return "".join([text[:1], text[1:]])


@pytest.mark.parametrize("options", PIPELINES[:2])
def test_keys_equal_to_the_interned_ones_are_read_the_same(options: PipelineOptions) -> None:
    """Event, user_data and custom_data keys that are new str objects (not the interned names
    C compares first) give the same answer, from C."""
    for event in REALISTIC[:150]:
        pipeline.prepare(event, now_s=NOW_S, options=options)
    for event in REALISTIC[:150]:
        fresh = {_fresh(k): v for k, v in copy.deepcopy(event).items()}
        for section in ("user_data", "custom_data"):
            if isinstance(fresh.get(section), dict):
                fresh[section] = {_fresh(k): v for k, v in fresh[section].items()}
        native = assert_agrees(fresh, NOW_S, options)
        assert (native is None) == (cwire.prepare(event, NOW_S, options) is None)


def test_threads_with_their_own_settings_get_their_own_answers() -> None:
    """Calls from threads with other regions, options and days, switching often (each switch
    changes the settings C keeps), still answer as Python does for each thread's settings."""
    narrow = [PipelineOptions(o.default_region, ValidationOptions(max_age_s=1)) for o in PIPELINES]
    days = [NOW_S, NOW_S + DAY_S, 1_767_225_600.0]
    work = list(zip(PIPELINES[::2] + narrow[1::2], days * 3, strict=True))
    events = REALISTIC[:120]
    expected = [[pipeline._prepare(e, now_s, options) for e in events] for options, now_s in work]
    failures: list[str] = []

    def run(i: int) -> None:
        options, now_s = work[i]
        for _ in range(5):
            for event, pure in zip(events, expected[i], strict=True):
                native = cwire.prepare(event, now_s, options)
                if native is not None and (
                    (native.payload, native.findings, native.quality)
                    != (pure.payload, pure.findings, pure.quality)
                ):
                    failures.append(f"thread {i}: {event['event_id']}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures
