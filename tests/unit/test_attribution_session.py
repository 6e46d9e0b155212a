"""Landing sessions: what an ingest item reports, what is kept, and how reports merge."""

from __future__ import annotations

import dataclasses
from typing import Any

from capigate.attribution.session import MAX_VALUE_CHARS, LandingSession, from_item, merged

TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
FBC = "fb.1.1763799990123.IwAR2F4-dbP0l7Mn1IawQQ"
FBP = "fb.1.1763799990000.1116446470"
UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/130.0 Mobile Safari/537.36"
T0 = 1_763_800_000.0


def _item(**user: Any) -> dict[str, Any]:
    return {
        "event": "landing_view",
        "user": {"fbc": FBC, "fbp": FBP, "ip": "203.0.113.7", "user_agent": UA, **user},
        "properties": {"utm_source": "fb", "utm_campaign": "spring", "button_id": "x"},
        "context": {
            "page_url": "https://lp.example.com/offer?fbclid=IwAR&email=a@b.c#top",
            "landing_token": TOKEN,
        },
    }


def test_an_item_reports_its_match_keys_utms_and_page() -> None:
    """fbc, fbp, IP, UA and UTMs are kept; the page loses its query string and fragment."""
    session = from_item(_item(), TOKEN, T0)
    assert session == LandingSession(
        token=TOKEN,
        fbc=FBC,
        fbp=FBP,
        ip="203.0.113.7",
        user_agent=UA,
        utms={"utm_source": "fb", "utm_campaign": "spring"},
        page_url="https://lp.example.com/offer",
        created_at=T0,
        seen_at=T0,
    )


def test_malformed_or_oversized_values_are_not_kept() -> None:
    """A bad fbc, a non-IP, a huge user agent and a non-http page are dropped."""
    item = _item(fbc="fb.1.123.short-time", ip="not-an-ip", user_agent="x" * (MAX_VALUE_CHARS + 1))
    item["context"]["page_url"] = "javascript:alert(1)"
    session = from_item(item, TOKEN, T0)
    assert (session.fbc, session.ip, session.user_agent, session.page_url) == (
        None,
        None,
        None,
        None,
    )
    assert session.fbp == FBP


def test_an_item_without_sections_reports_an_empty_session() -> None:
    """Missing or odd sections give a session with only its token and times."""
    session = from_item({"user": "nobody", "properties": [1]}, TOKEN, T0)
    assert session == LandingSession(TOKEN, created_at=T0, seen_at=T0)


def test_a_later_report_refreshes_values_and_keeps_the_rest() -> None:
    """Newer values win, missing ones erase nothing, created_at stays, seen_at moves on."""
    first = from_item(_item(), TOKEN, T0)
    later = LandingSession(
        TOKEN, fbc="fb.1.1763800050000.NewClick", created_at=T0 + 60, seen_at=T0 + 60
    )
    result = merged(first, later)
    assert result.fbc == "fb.1.1763800050000.NewClick"
    assert (result.fbp, result.ip, result.user_agent) == (FBP, "203.0.113.7", UA)
    assert result.utms == {"utm_source": "fb", "utm_campaign": "spring"}
    assert (result.created_at, result.seen_at) == (T0, T0 + 60)


def test_utms_are_replaced_as_one_set() -> None:
    """A report with other UTMs replaces all of them: a campaign's UTMs belong together."""
    first = from_item(_item(), TOKEN, T0)
    later = dataclasses.replace(first, utms={"utm_source": "ig"}, seen_at=T0 + 5)
    assert merged(first, later).utms == {"utm_source": "ig"}


def test_an_older_report_does_not_move_seen_at_back() -> None:
    """Reports may arrive out of order; seen_at is the latest."""
    first = from_item(_item(), TOKEN, T0 + 100)
    assert merged(first, from_item(_item(), TOKEN, T0)).seen_at == T0 + 100


def test_a_linked_session_never_changes() -> None:
    """Once a Telegram user is linked, a report under the same token is ignored."""
    linked = dataclasses.replace(from_item(_item(), TOKEN, T0), telegram_id="42", linked_at=T0)
    attack = LandingSession(TOKEN, fbc="fb.1.1763800050000.Forged", created_at=T0, seen_at=T0 + 9)
    assert merged(linked, attack) == linked
