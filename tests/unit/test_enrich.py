"""Enrichment: client IP through trusted proxies only, UA, Meta cookies, fbc from fbclid."""

from __future__ import annotations

import re
from typing import Any

import pytest

from capigate import enrich
from capigate.enrich import RequestFacts

TRUSTED = enrich.parse_networks(["10.0.0.0/8", "2001:db8::/32"])
NOW_S = 1_763_800_000.0


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "1.2.3.4", "203.0.113.7"),  # untrusted peer: XFF is ignored
        ("10.0.0.2", "198.51.100.4", "198.51.100.4"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.4", "198.51.100.4"),  # left part is client-written
        ("10.0.0.2", "198.51.100.4, 10.0.0.9", "198.51.100.4"),  # chain of trusted proxies
        ("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # everyone trusted: the farthest
        ("10.0.0.2", "junk, 198.51.100.4", "198.51.100.4"),
        ("10.0.0.2", "198.51.100.4, junk", "10.0.0.2"),  # garbage: believe the last proxy
        ("10.0.0.2", "198.51.100.4:5123", "198.51.100.4"),
        ("2001:db8::1", "[2001:db8:ffff::1]:443, 2a00:1450::5", "2a00:1450::5"),
        ("::ffff:10.0.0.2", "198.51.100.4", "198.51.100.4"),
        (None, "198.51.100.4", None),
        ("testclient", None, None),
    ],
)
def test_client_ip_trusts_forwarded_for_only_through_trusted_proxies(
    peer: str | None, xff: str | None, expected: str | None
) -> None:
    """The client IP is the first untrusted hop counting from the socket."""
    assert enrich.client_ip(peer, xff, TRUSTED) == expected


def test_no_trusted_proxies_means_the_socket_peer() -> None:
    """Without configured proxies X-Forwarded-For is never believed."""
    assert enrich.client_ip("127.0.0.1", "198.51.100.4", ()) == "127.0.0.1"


def test_parse_networks_names_the_bad_entry() -> None:
    """A bad CIDR is reported by value."""
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33'")):
        enrich.parse_networks(["10.0.0.0/33"])


def test_meta_cookies_are_read_raw() -> None:
    """_fbp and _fbc come from the Cookie header exactly as set; others are ignored."""
    header = 'a=1; _fbp=fb.1.1596403881668.1116446470; _fbc="fb.1.1554763741205.IwAR2F4-dbP0"'
    assert enrich.meta_cookies(header) == (
        "fb.1.1596403881668.1116446470",
        "fb.1.1554763741205.IwAR2F4-dbP0",
    )
    assert enrich.meta_cookies(None) == (None, None)
    assert enrich.meta_cookies("_fbp=; _fbc") == (None, None)


def test_fbc_is_built_from_fbclid_with_its_case_kept() -> None:
    """fbc = fb.1.<click ms>.<fbclid>, the fbclid untouched."""
    assert (
        enrich.build_fbc("IwAR2F4-dbP0l7Mn", 1554763741205) == "fb.1.1554763741205.IwAR2F4-dbP0l7Mn"
    )


def test_fbclid_from_url_keeps_the_raw_value() -> None:
    """The fbclid query value is taken as sent: not decoded, not case-folded."""
    url = "https://example.com/lp?utm_source=fb&fbclid=IwAR2F4-AbC%2Fx#top"
    assert enrich.fbclid_from_url(url) == "IwAR2F4-AbC%2Fx"
    assert enrich.fbclid_from_url("https://example.com/?fbclid=") is None
    assert enrich.fbclid_from_url("https://example.com/") is None


def item(user: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event": "page_view", "event_time": int(NOW_S) - 30, **extra}
    if user is not None:
        body["user"] = user
    return body


FACTS = RequestFacts("198.51.100.4", "Mozilla/5.0", "fb.1.1.111", "fb.1.2.CookieClick")


def test_request_facts_fill_missing_user_fields() -> None:
    """IP, user agent and cookies fill what the event lacks."""
    out = enrich.enrich_item(item({"email": "a@b.co"}), FACTS, now_s=NOW_S)
    assert out["user"] == {
        "email": "a@b.co",
        "ip": "198.51.100.4",
        "user_agent": "Mozilla/5.0",
        "fbp": "fb.1.1.111",
        "fbc": "fb.1.2.CookieClick",
    }


def test_event_values_win_over_request_facts() -> None:
    """Values the event carries are never overwritten."""
    user = {"ip": "192.0.2.1", "user_agent": "Bot/1", "fbp": "fb.1.9.9", "fbc": "fb.1.9.Own"}
    assert enrich.enrich_item(item(user), FACTS, now_s=NOW_S)["user"] == user


def test_fbclid_builds_fbc_at_the_event_time_when_no_cookie() -> None:
    """Without _fbc, user.fbclid becomes fbc with the event time in milliseconds."""
    body = item({"fbclid": "IwAR2F4-dbP0l7Mn1IawQQ"})
    out = enrich.enrich_item(body, None, now_s=NOW_S)
    assert out["user"]["fbc"] == f"fb.1.{(int(NOW_S) - 30) * 1000}.IwAR2F4-dbP0l7Mn1IawQQ"
    assert body["user"] == {"fbclid": "IwAR2F4-dbP0l7Mn1IawQQ"}  # the input is not mutated


def test_fbclid_from_page_url_and_implausible_event_time_uses_now() -> None:
    """The page URL's fbclid counts too; a bogus event_time falls back to now."""
    body = item({}, context={"page_url": "https://x.io/?fbclid=AbC"}, event_time="soon")
    out = enrich.enrich_item(body, None, now_s=NOW_S)
    assert out["user"]["fbc"] == f"fb.1.{int(NOW_S * 1000)}.AbC"
    body = item({}, context={"page_url": "https://x.io/?fbclid=AbC"}, event_time=True)
    assert enrich.enrich_item(body, None, now_s=NOW_S)["user"]["fbc"].endswith(".AbC")


def test_cookie_fbc_wins_over_fbclid() -> None:
    """An existing _fbc is kept even when an fbclid is present."""
    out = enrich.enrich_item(item({"fbclid": "New"}), FACTS, now_s=NOW_S)
    assert out["user"]["fbc"] == "fb.1.2.CookieClick"


def test_items_without_a_user_object_gain_one_and_bad_shapes_pass_through() -> None:
    """A missing user is created; a non-object user is left for the mapping to report."""
    assert enrich.enrich_item(item(), FACTS, now_s=NOW_S)["user"]["ip"] == "198.51.100.4"
    bad = item("alice@example.com")
    assert enrich.enrich_item(bad, FACTS, now_s=NOW_S) is bad
    bare = item({})
    assert enrich.enrich_item(bare, None, now_s=NOW_S) is bare


def test_empty_values_are_filled_in_place_and_new_keys_follow() -> None:
    """An empty user value is replaced where it stands; missing keys come after the user's own,
    in the order ip, user_agent, fbp, fbc; the input user is not changed."""
    user = {"user_agent": "", "email": "a@b.co", "fbc": None}
    out = enrich.enrich_item(item(user), FACTS, now_s=NOW_S)["user"]
    assert list(out.items()) == [
        ("user_agent", "Mozilla/5.0"),
        ("email", "a@b.co"),
        ("fbc", "fb.1.2.CookieClick"),
        ("ip", "198.51.100.4"),
        ("fbp", "fb.1.1.111"),
    ]
    assert user == {"user_agent": "", "email": "a@b.co", "fbc": None}


def test_an_item_with_nothing_to_fill_comes_back_itself() -> None:
    """Without facts to add and without an fbclid anywhere (the page URL has other query
    values), the very same item is returned, not a copy."""
    body = item({"fbc": ""}, context={"page_url": "https://x.io/lp?utm_source=fb&fbclid"})
    assert enrich.enrich_item(body, None, now_s=NOW_S) is body
    assert enrich.fbclid_from_url("https://x.io/lp?xfbclid=1") is None
    assert enrich.fbclid_from_url("https://x.io/lp?a=1&fbclid=Zz#top") == "Zz"
