"""The memos behind normalize_user_data: exact, bounded, and never keyed by a raw email or phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.normalize import memo, normalize_user_data, userdata
from tests.unit.test_normalize_properties import KEYS, REGIONS, anything, phone_like

VALUES = st.one_of(
    st.sampled_from(["John@Example.com", " a@b.co ", "Tashkent", "male", "1990-01-15", "UZ"]),
    phone_like,
    anything,
)


@pytest.fixture(autouse=True)
def _fresh_memos() -> Iterator[None]:
    """Fresh memos, and the pure short way: the C one (test_native_userdata) needs fewer memos."""
    memo.clear()
    native = userdata.use_native(False)
    yield
    userdata.use_native(native)
    memo.clear()


@settings(max_examples=200, deadline=None)
@given(
    raw=st.dictionaries(st.sampled_from([*KEYS, "x"]), VALUES, max_size=6),
    region=st.sampled_from(REGIONS),
)
def test_a_remembered_value_gives_exactly_what_normalizing_again_gives(
    raw: dict[str, Any], region: str | None
) -> None:
    """Output and findings are the same with cold memos, warm memos and after clearing."""
    memo.clear()
    cold = normalize_user_data(raw, default_region=region)
    warm = normalize_user_data(raw, default_region=region)
    memo.clear()
    assert cold == warm == normalize_user_data(raw, default_region=region)


def test_emails_and_phones_are_remembered_by_digest_never_by_raw_value() -> None:
    """The em and ph memos hold 16-byte digests as keys and SHA-256 hex as values."""
    raw = {"em": "Person@Example.com", "ph": "+998 90 123 45 67", "ct": "Tashkent"}
    out, _ = normalize_user_data(raw, default_region="UZ")
    _, tables = memo.tables("UZ", 2026)
    for key in ("em", "ph"):
        assert list(tables[key].items()) == [(memo.digest(raw[key]), out[key])]
        assert all(isinstance(k, bytes) and len(k) == memo.DIGEST_BYTES for k in tables[key])
    assert tables["ct"] == {"Tashkent": out["ct"]}
    assert "Person@Example.com" not in repr(memo.tables("UZ", 2026))


def test_a_value_with_a_finding_is_not_remembered() -> None:
    """A phone kept with a warning warns again on every event, so it is never remembered."""
    for _ in range(2):
        _, findings = normalize_user_data({"ph": "650 555 1212"})
        assert [f.rule for f in findings] == ["phone_no_country_code"]
    assert memo.tables(None, 2026)[1]["ph"] == {}


def test_memos_are_per_region_and_birth_year() -> None:
    """A national phone and a date follow the settings they were normalized with."""
    uz, _ = normalize_user_data({"ph": "90 123 45 67", "db": "05/01/1990"}, default_region="UZ")
    us, _ = normalize_user_data({"ph": "90 123 45 67", "db": "05/01/1990"}, default_region="US")
    assert uz["db"] != us["db"]
    young, findings = normalize_user_data({"db": "2020-01-01"}, max_birth_year=2019)
    assert young == {} and [f.rule for f in findings] == ["date_out_of_range"]


def test_a_full_memo_is_emptied_not_grown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays bounded: at the limit the table starts again."""
    monkeypatch.setattr(memo, "MAX_MEMO_ENTRIES", 2)
    for city in ("Tashkent", "Samarkand", "Bukhara"):
        normalize_user_data({"ct": city})
    assert len(memo.tables(None, 2026)[1]["ct"]) <= 2


def test_settings_beyond_the_limit_start_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many regions or birth years never keep more than MAX_MEMO_SETTINGS sets of memos."""
    monkeypatch.setattr(memo, "MAX_MEMO_SETTINGS", 2)
    for year in (2020, 2021, 2022):
        normalize_user_data({"ct": "Tashkent"}, max_birth_year=year)
    assert len(memo._memos) <= 2


def test_key_sets_beyond_the_order_limit_start_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remembered key orders (short way) and sorts (long way) stay bounded; output order holds."""
    from capigate.normalize import userdata

    for name in ("MAX_CACHED_ORDERS", "MAX_CACHED_PLANS"):
        monkeypatch.setattr(userdata, name, 1)
    monkeypatch.setattr(userdata, "_orders", {})
    monkeypatch.setattr(userdata, "_plans", {})
    assert list(normalize_user_data({"ct": "X", "em": "a@b.co"})[0]) == ["em", "ct"]
    assert list(normalize_user_data({"fn": "X", "em": "a@b.co"})[0]) == ["em", "fn"]
    assert list(normalize_user_data({"fn": "X", "em": "a@b.co", "x": 1})[0]) == ["em", "fn"]
    assert list(normalize_user_data({"ln": "X", "em": "a@b.co", "x": 1})[0]) == ["em", "ln"]
    assert len(userdata._plans) == len(userdata._orders) == 1


def test_a_value_the_short_way_cannot_take_sends_the_whole_dict_the_long_way() -> None:
    """A blank, a list or a phone without country code: same output, findings in input order."""
    raw = {"ph": "650 555 1212", "em": "a@b.co", "fn": ["Ann", "Bo"], "ln": " ", "ge": "x"}
    out, findings = normalize_user_data(raw)
    assert list(out) == ["em", "ph", "fn"]
    assert [f.rule for f in findings] == ["phone_no_country_code", "gender_unknown"]


def test_long_values_are_not_remembered() -> None:
    """A huge user agent is normalized every time rather than kept in memory."""
    agent = "Mozilla/5.0 " + "x" * memo.MAX_MEMO_TEXT_CHARS
    assert normalize_user_data({"client_user_agent": agent})[0] == {"client_user_agent": agent}
    assert memo.tables(None, 2026)[1]["client_user_agent"] == {}
