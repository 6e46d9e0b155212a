"""``fn``/``ln``/``ct``/``st``: lowercase, no punctuation or spaces, scripts and accents kept."""

from __future__ import annotations

import pytest

from capigate.errors import InvalidField
from capigate.normalize import normalize_field


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jean-Luc", "jeanluc"),
        ("  Mary Ann ", "maryann"),
        ("O’Brien", "obrien"),
        ("Oʻtkir", "otkir"),
        ("Oʼtkir", "otkir"),
        ("O`tkir", "otkir"),
        ("Weiß", "weiß"),
        ("Valéry", "valéry"),
        ("Vale\u0301ry", "valéry"),
        ("Иван", "иван"),
        ("정", "정"),
        ("Anne\u00admarie", "annemarie"),
        ("Zoë\u200d", "zoë"),
        ("Louis XIV", "louisxiv"),
        ("John 3rd", "john3rd"),
        ("Émile «Mimi»", "émilemimi"),
        ("J.R.R.", "jrr"),
        ("Ab\x00c", "abc"),
    ],
)
def test_names_drop_punctuation_and_spaces(raw: str, expected: str) -> None:
    """Unicode punctuation, spaces, format characters and apostrophe marks are removed."""
    assert normalize_field("fn", raw) == expected
    assert normalize_field("ln", raw) == expected


@pytest.mark.parametrize("key", ["fn", "ln", "ct", "st"])
@pytest.mark.parametrize("raw", ["...", "'-'", "  ", "ʻʼ", "🙂"])
def test_names_with_nothing_left_are_refused(key: str, raw: str) -> None:
    """A value made only of punctuation is refused rather than hashed as an empty string."""
    with pytest.raises(InvalidField) as caught:
        normalize_field(key, raw)
    assert (caught.value.key, caught.value.rule) == (key, "empty")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("São Paulo", "sãopaulo"),
        ("Ташкент", "ташкент"),
        ("Area 51", "area"),
        ("Winston-Salem", "winstonsalem"),
        ("Saint-Étienne", "saintétienne"),
    ],
)
def test_city_keeps_letters_of_any_script_and_drops_digits(raw: str, expected: str) -> None:
    """``ct`` is a name without digits."""
    assert normalize_field("ct", raw) == expected


def test_city_of_digits_only_is_refused() -> None:
    """A zip code typed into the city field is not a city."""
    with pytest.raises(InvalidField, match="city"):
        normalize_field("ct", "10001")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("California", "ca"),
        ("new hampshire", "nh"),
        ("District of Columbia", "dc"),
        ("Washington, D.C.", "dc"),
        ("Puerto Rico", "pr"),
        ("Ontario", "on"),
        ("Colombie-Britannique", "bc"),
        ("Île-du-Prince-Édouard", "pe"),
        ("TX", "tx"),
        ("Toshkent", "toshkent"),
        ("Île-de-France", "îledefrance"),
        ("Bayern 2", "bayern"),
    ],
)
def test_state_names_map_to_codes_where_known(raw: str, expected: str) -> None:
    """US states, DC, territories and Canadian provinces to codes; other regions whole."""
    assert normalize_field("st", raw) == expected
