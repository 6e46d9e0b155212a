"""Link tokens: Telegram's start-parameter alphabet and length, randomness, deep links."""

from __future__ import annotations

import re
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.attribution.token import (
    MAX_TOKEN_CHARS,
    MIN_TOKEN_CHARS,
    TOKEN_BYTES,
    deep_link,
    is_token,
    new_token,
)

TELEGRAM_START = re.compile(r"[A-Za-z0-9_-]{1,64}")  # sources.md §1.1


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=12, max_size=48))
def test_every_new_token_is_a_valid_telegram_start_parameter(entropy: bytes) -> None:
    """Any 12-48 random bytes make a token Telegram accepts and the gateway recognises."""
    token = new_token(entropy)
    assert TELEGRAM_START.fullmatch(token)
    assert is_token(token)


def test_default_token_is_22_characters_of_128_bits() -> None:
    """16 bytes give 22 base64url characters, without padding."""
    token = new_token(secrets.token_bytes(TOKEN_BYTES))
    assert len(token) == 22
    assert "=" not in token


def test_too_little_or_too_much_entropy_is_refused() -> None:
    """Fewer than 12 bytes would be guessable; more than 48 would pass Telegram's 64 chars."""
    with pytest.raises(ValueError, match="at least 12 random bytes"):
        new_token(b"x" * 11)
    with pytest.raises(ValueError, match="at most 64"):
        new_token(b"x" * 49)


@pytest.mark.parametrize(
    "value",
    [
        "a" * (MIN_TOKEN_CHARS - 1),  # too short to be random
        "a" * (MAX_TOKEN_CHARS + 1),  # Telegram's limit
        "abcdefghijklmnop=",  # padding is not in the alphabet
        "abcdefgh ijklmnop",
        "abcdefghijklmnoé",
        "",
        None,
        1234567890123456,
    ],
)
def test_is_token_refuses_what_telegram_or_randomness_rule_out(value: object) -> None:
    """Wrong alphabet, length or type is not a token."""
    assert not is_token(value)


def test_is_token_accepts_both_ends_of_the_length_range() -> None:
    """16 and 64 characters are tokens."""
    assert is_token("A" * MIN_TOKEN_CHARS)
    assert is_token("z_-9" * (MAX_TOKEN_CHARS // 4))


def test_deep_link_uses_start_or_startapp() -> None:
    """A chat deep link by default; the main mini app with mini_app=True."""
    token = "AbCdEfGhIjKlMnOpQrStUv"
    assert deep_link("capi_demo_bot", token) == f"https://t.me/capi_demo_bot?start={token}"
    assert deep_link("capi_demo_bot", token, mini_app=True).endswith(f"?startapp={token}")


@pytest.mark.parametrize("bot", ["bot", "9lives_bot", "has-dash_bot", "a" * 33])
def test_deep_link_refuses_a_name_that_is_not_a_telegram_username(bot: str) -> None:
    """A bot username is 5-32 of A-Z a-z 0-9 _, starting with a letter."""
    with pytest.raises(ValueError, match="not a Telegram username"):
        deep_link(bot, "AbCdEfGhIjKlMnOpQrStUv")


def test_deep_link_refuses_a_bad_token() -> None:
    """The token must be one is_token accepts."""
    with pytest.raises(ValueError, match="token must be"):
        deep_link("capi_demo_bot", "short")
