"""``em``: trim, lowercase, loose validation with UTF-8 allowed."""

from __future__ import annotations

import pytest

from capigate.errors import InvalidField
from capigate.normalize import normalize_field


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John.Doe+Ads@Example.COM\u00a0", "john.doe+ads@example.com"),
        ("\u200bjane@example.org\ufeff", "jane@example.org"),
        ("o'hara@example.ie", "o'hara@example.ie"),
        ("a-b@sub-domain.example-site.co.uk", "a-b@sub-domain.example-site.co.uk"),
        ("Jürgen@Bücher.DE", "jürgen@bücher.de"),
        ("ИВАН@ПОЧТА.РФ", "иван@почта.рф"),
        ("Jane Roe <Jane@Example.com>", "jane@example.com"),
        ("< jane@example.com >", "jane@example.com"),
        ("user@xn--80a1acny.xn--p1ai", "user@xn--80a1acny.xn--p1ai"),
        ("user@bu\u0308cher.de", "user@bücher.de"),
    ],
)
def test_email_is_trimmed_and_lowercased(raw: str, expected: str) -> None:
    """Case and surrounding space go; dots, +tags and non-ASCII letters stay (NFC)."""
    assert normalize_field("em", raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "plainaddress",
        "two@@example.com",
        "a@b@example.com",
        "john doe@example.com",
        "john@exa mple.com",
        "john..doe@example.com",
        ".john@example.com",
        "john.@example.com",
        "john@example..com",
        "john@.example.com",
        "john@example",
        "john@-example.com",
        "john@example-.com",
        "john@exa_mple.com",
        "user@[192.168.0.1]",
        "user@192.168.0.1",
        "user@例え.123",
        "@example.com",
        "john@",
        "jöhn@exämple",
        "jöhn@-exämple.de",
        "jöhn@exämple..de",
        "jöhn..x@exämple.de",
        "jöhn\u00a0x@exämple.de",
        "jöhn\x00x@exämple.de",
        "jö(hn@exämple.de",
        "jöhn@exämple.d_e",
        "jöhn",
    ],
)
def test_unusable_addresses_are_refused(raw: str) -> None:
    """A value that cannot be an address is refused with rule email_format."""
    with pytest.raises(InvalidField) as caught:
        normalize_field("em", raw)
    assert (caught.value.key, caught.value.rule) == ("em", "email_format")


def test_missing_at_sign_is_named_in_the_message() -> None:
    """The message tells what is wrong with the address."""
    with pytest.raises(InvalidField, match="no '@'"):
        normalize_field("em", "jane.example.com")


def test_empty_angle_brackets_are_an_empty_value() -> None:
    """``<>`` holds no address at all."""
    with pytest.raises(InvalidField) as caught:
        normalize_field("em", "<>")
    assert caught.value.rule == "empty"
