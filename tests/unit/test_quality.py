"""The match-quality estimate: documented weights, a 1-10 score that only grows with keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate import quality
from capigate.quality import KEY_POINTS, PAIR_BONUSES, Level, estimate

H = "a" * 64
ALL_KEYS = sorted(KEY_POINTS)


@pytest.mark.parametrize(
    ("keys", "score", "level"),
    [
        ((), 1, Level.POOR),
        (("ge",), 1, Level.POOR),
        (("fbp",), 2, Level.POOR),
        (("em",), 4, Level.OK),
        (("em", "fbp"), 5, Level.OK),
        (("em", "ph"), 7, Level.GOOD),
        (("em", "ph", "fbp"), 8, Level.GREAT),
        (("em", "ph", "external_id", "fbp"), 10, Level.GREAT),
        (("client_ip_address", "client_user_agent"), 2, Level.POOR),
        (("fn", "ln", "ct", "st", "zp", "country"), 3, Level.POOR),
    ],
)
def test_scores_of_typical_key_sets(keys: tuple[str, ...], score: int, level: Level) -> None:
    """The documented examples: 4 for an email alone, 7 with a phone, 10 with more."""
    result = estimate(dict.fromkeys(keys, H))
    assert (result.score, result.level) == (score, level)
    assert result.keys == keys


def test_every_key_at_once_is_capped_at_ten() -> None:
    """No key set scores above 10."""
    assert estimate(dict.fromkeys(ALL_KEYS, H)).score == 10


def test_pairs_are_worth_more_than_their_parts() -> None:
    """IP with user agent, and first with last name, earn a bonus."""
    pair = estimate({"client_ip_address": "1.2.3.4", "client_user_agent": "UA", "fn": H, "ln": H})
    assert pair.score == 1 + int(0.5 + 0.5 + 0.5 + 0.25 + 0.25 + 0.5)
    assert {(a, b) for a, b, _ in PAIR_BONUSES} == {
        ("client_ip_address", "client_user_agent"),
        ("fn", "ln"),
    }


def test_unknown_and_empty_keys_do_not_count() -> None:
    """Only known match keys with a non-empty value are counted."""
    result = estimate({"em": "", "ph": [], "fn": None, "telegram_id": "1", "utm_source": "fb"})
    assert result.keys == () and result.score == 1


def test_keys_keep_the_order_of_user_data() -> None:
    """keys lists the match keys in the order user_data has them."""
    assert estimate({"fbp": "x", "em": H, "ph": [H]}).keys == ("fbp", "em", "ph")


def test_missing_names_the_strongest_absent_keys_first() -> None:
    """missing suggests em, ph, external_id, fbc, fbp, client_ip_address in that order."""
    assert estimate({"ph": H, "fbp": "x"}).missing == (
        "em",
        "external_id",
        "fbc",
        "client_ip_address",
    )
    assert estimate(dict.fromkeys(ALL_KEYS, H)).missing == ()


def test_to_dict_is_plain_json() -> None:
    """The dashboard and API get plain lists and strings."""
    assert estimate({"em": H}).to_dict() == {
        "keys": ["em"],
        "score": 4,
        "level": "ok",
        "missing": ["ph", "external_id", "fbc", "fbp", "client_ip_address"],
    }


def test_weights_are_written_down_in_the_module_docstring() -> None:
    """Every weighted key is named in the documentation, which says it is an estimate."""
    doc = quality.__doc__ or ""
    assert "ESTIMATE" in doc and "not Meta's Event Match Quality" in doc
    assert all(f"``{key}``" in doc for key in KEY_POINTS)


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.sampled_from(ALL_KEYS)),
    st.sets(st.sampled_from(ALL_KEYS)),
)
def test_adding_keys_never_lowers_the_score(base: set[str], added: set[str]) -> None:
    """Monotonic: a superset of match keys scores at least as high, and stays within 1..10."""
    before = estimate(dict.fromkeys(base, H)).score
    after = estimate(dict.fromkeys(base | added, H)).score
    assert 1 <= before <= after <= 10


def test_remembered_estimates_stay_bounded_and_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key sequences are remembered up to a limit, then forgotten; the answer never changes."""
    monkeypatch.setattr(quality, "MAX_CACHED_KEY_SETS", 1)
    monkeypatch.setattr(quality, "_by_keys", {})
    first = estimate({"em": H})
    assert estimate({"ph": H}).keys == ("ph",)
    assert estimate({"em": H}) == first
    assert len(quality._by_keys) == 1
