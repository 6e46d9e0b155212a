"""The ingest attribution step over the memory store: save, link, fill, and what it leaves alone."""

from __future__ import annotations

import dataclasses
import logging
from types import MappingProxyType
from typing import Any

import pytest

from capigate.attribution.config import DAY_S, AttributionSettings
from capigate.clock import FrozenClock
from capigate.plan.load import default_plan
from capigate.stitching import Stitcher
from capigate.store import InMemoryStore

T0 = 1_763_800_000.0
TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
USER = "279058397"
FBC = "fb.1.1763799990123.IwAR2F4-dbP0l7Mn1IawQQ"
FBP = "fb.1.1763799990000.1116446470"
DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"


def _landing(**context: Any) -> dict[str, Any]:
    return {
        "event": "landing_view",
        "event_time": int(T0),
        "user": {"fbc": FBC, "fbp": FBP, "ip": "203.0.113.7", "user_agent": DESKTOP_UA},
        "properties": {"utm_source": "fb", "utm_campaign": "spring"},
        "context": {"session_id": "s-1", "landing_token": TOKEN, **context},
    }


def _start(token: str = TOKEN, user: str = USER) -> dict[str, Any]:
    return {
        "event": "start_bot",
        "event_time": int(T0) + 30,
        "user": {"telegram_id": user},
        "context": {"start_param": token},
    }


def _subscribe(user: str = USER, at: float = T0 + 3600) -> dict[str, Any]:
    return {
        "event": "subscribe",
        "event_time": int(at),
        "user": {"telegram_id": user},
        "properties": {"transaction_id": "t1", "value": 9.99, "currency": "USD"},
    }


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(clock=FrozenClock(T0))


def _stitcher(store: InMemoryStore, **settings: Any) -> Stitcher:
    return Stitcher(store, default_plan(), AttributionSettings(**settings))


async def test_landing_start_and_later_events_carry_the_visit(store: InMemoryStore) -> None:
    """A landing event saves the visit; /start links it; start_bot and subscribe inherit it."""
    stitcher = _stitcher(store)
    await stitcher.stitch([_landing()], now_s=T0)
    start, subscribe = await stitcher.stitch([_start(), _subscribe()], now_s=T0 + 30)
    for item in (start, subscribe):
        assert isinstance(item, dict)
        assert item["user"] == {
            "telegram_id": USER,
            "fbc": FBC,
            "fbp": FBP,
            "ip": "203.0.113.7",
            "user_agent": DESKTOP_UA,
        }
        assert {"utm_source": "fb", "utm_campaign": "spring"}.items() <= item["properties"].items()
    assert store.calls[-1] == ("identities_for", {"telegram_ids": [USER]})


async def test_a_batch_with_landing_and_start_links_in_order(store: InMemoryStore) -> None:
    """Within one request, the landing item is saved before the /start links to it."""
    landing, start = await _stitcher(store).stitch([_landing(), _start()], now_s=T0)
    assert isinstance(start, dict) and start["user"]["fbc"] == FBC
    assert landing == _landing()  # no Telegram user: nothing to fill


async def test_a_later_event_of_an_unlinked_user_is_unchanged(store: InMemoryStore) -> None:
    """No link, nothing carried; non-objects pass through untouched."""
    stitcher = _stitcher(store)
    await stitcher.stitch([_landing()], now_s=T0)
    items: list[object] = [_subscribe(user="42"), "not an object", 7]
    assert await stitcher.stitch(items, now_s=T0) == items


async def test_a_forwarded_link_does_not_give_the_visit_to_a_second_user(
    store: InMemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The first user to press START owns the token; the second is logged, not linked."""
    stitcher = _stitcher(store)
    await stitcher.stitch([_landing(), _start()], now_s=T0)
    with caplog.at_level(logging.INFO, logger="capigate.attribution"):
        (second,) = await stitcher.stitch([_start(user="42")], now_s=T0 + 60)
    assert second == _start(user="42")
    assert any(getattr(r, "fields", {}).get("reason") == "token_taken" for r in caplog.records)


async def test_a_start_after_the_link_window_links_nothing(store: InMemoryStore) -> None:
    """A token pressed after link_window_s is too old to attribute."""
    stitcher = _stitcher(store, link_window_s=3600)
    await stitcher.stitch([_landing()], now_s=T0)
    (start,) = await stitcher.stitch([_start()], now_s=T0 + 3601)
    assert start == _start()
    assert await store.identities_for([USER]) == {}


async def test_ip_and_agent_stay_fresh_for_their_ttl_only(store: InMemoryStore) -> None:
    """Eight days later a payment still gets fbc, fbp and UTMs, but no IP or agent."""
    stitcher = _stitcher(store)
    await stitcher.stitch([_landing(), _start()], now_s=T0)
    later = T0 + 8 * DAY_S
    (subscribe,) = await stitcher.stitch([_subscribe(at=later)], now_s=later)
    assert isinstance(subscribe, dict)
    assert set(subscribe["user"]) == {"telegram_id", "fbc", "fbp"}


async def test_a_disabled_step_touches_nothing(store: InMemoryStore) -> None:
    """enabled: false saves no session and fills no event."""
    items: list[object] = [_landing(), _start()]
    assert await _stitcher(store, enabled=False).stitch(items, now_s=T0) == items
    assert store.calls == []


async def test_events_without_users_or_tokens_cost_no_store_call(store: InMemoryStore) -> None:
    """A plain website event needs no read or write."""
    item = {"event": "cta_click", "context": {"session_id": "s-1"}}
    await _stitcher(store).stitch([item], now_s=T0)
    assert store.calls == []


async def test_utms_follow_the_plans_policy_for_undeclared_properties(store: InMemoryStore) -> None:
    """With undeclared_properties: warn, only UTMs the event declares are filled."""
    plan = default_plan()
    strict = dataclasses.replace(
        plan, defaults=dataclasses.replace(plan.defaults, undeclared_properties="warn")
    )
    stitcher = Stitcher(store, strict, AttributionSettings())
    await stitcher.stitch([_landing(), _start()], now_s=T0)
    start, subscribe = await stitcher.stitch([_start(), _subscribe()], now_s=T0 + 60)
    assert isinstance(start, dict) and isinstance(subscribe, dict)
    assert start["properties"] == {"utm_source": "fb", "utm_campaign": "spring"}  # declared
    assert "utm_source" not in subscribe["properties"]  # subscribe does not declare UTMs
    assert subscribe["user"]["fbc"] == FBC


async def test_a_mini_app_start_param_links_like_a_bot_start(store: InMemoryStore) -> None:
    """A verified mini-app event carrying startapp=<token> links its user too."""
    stitcher = _stitcher(store)
    await stitcher.stitch([_landing()], now_s=T0)
    app_open = {
        "event": "app_open",
        "user": {"telegram_id": USER},
        "context": {"start_param": TOKEN},
    }
    (opened,) = await stitcher.stitch([app_open], now_s=T0 + 5)
    assert isinstance(opened, dict) and opened["user"]["fbp"] == FBP


async def test_purge_forgets_sessions_past_every_ttl(store: InMemoryStore) -> None:
    """purge removes sessions older than the longest TTL and keeps the rest."""
    stitcher = _stitcher(store)
    await stitcher.stitch([_landing()], now_s=T0)
    assert await stitcher.purge(now_s=T0 + 90 * DAY_S) == 0
    assert await stitcher.purge(now_s=T0 + 90 * DAY_S + 1) == 1
    assert await store.landing_session(TOKEN) is None


async def test_a_mobile_landing_agent_stays_off_events_that_may_be_app_events(
    store: InMemoryStore,
) -> None:
    """An activity (its derived events may be app events) gets the IP but not a phone's agent."""
    android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/130.0 Mobile Safari/537.36"
    landing = _landing()
    landing["user"]["user_agent"] = android
    stitcher = _stitcher(store)
    await stitcher.stitch([landing, _start()], now_s=T0)
    activity = {"event": "expense_logged", "user": {"telegram_id": USER}}
    website = {**activity, "action_source": "website"}
    logged, site = await stitcher.stitch([activity, website], now_s=T0 + 60)
    assert isinstance(logged, dict) and isinstance(site, dict)
    assert logged["user"]["ip"] == "203.0.113.7"
    assert "user_agent" not in logged["user"]
    assert site["user"]["user_agent"] == android


async def test_carry_fills_a_derived_item_without_saving_or_linking(store: InMemoryStore) -> None:
    """``carry`` (derived events) only reads: a token in the item neither saves nor links."""
    stitcher = _stitcher(store)
    await stitcher.stitch([_landing(), _start()], now_s=T0)
    store.calls.clear()
    dropped = {
        "event": "drop_off",
        "event_time": int(T0) + 600,
        "user": {"telegram_id": USER},
        "context": {"start_param": "OtherTokenOtherToken01", "landing_token": TOKEN},
    }
    [item] = await stitcher.carry([dropped], now_s=T0 + 3600)
    assert isinstance(item, dict)
    assert (item["user"]["fbc"], item["user"]["fbp"]) == (FBC, FBP)
    assert item["properties"] == {"utm_source": "fb", "utm_campaign": "spring"}
    assert store.calls == [("identities_for", {"telegram_ids": [USER]})]


async def test_carry_of_items_without_users_or_when_disabled_reads_nothing(
    store: InMemoryStore,
) -> None:
    """No Telegram user (or attribution off): the items come back as they are, no store call."""
    items: list[object] = [{"event": "drop_off", "user": {"user_id": "u-9"}}, "junk"]
    assert await _stitcher(store).carry(items, now_s=T0) == items
    assert await _stitcher(store, enabled=False).carry([_start()], now_s=T0) == [_start()]
    assert store.calls == []


async def test_other_mappings_and_numeric_ids_stitch_like_plain_dicts(
    store: InMemoryStore,
) -> None:
    """The plain-dict shortcuts change nothing for other mappings: a read-only context still
    saves its visit and links, an integer Telegram id in a read-only user still carries."""
    stitcher = _stitcher(store)
    landing = _landing()
    landing["context"] = MappingProxyType(landing["context"])
    await stitcher.stitch([landing], now_s=T0)
    start = _start()
    start["context"] = MappingProxyType(start["context"])
    start["user"] = MappingProxyType({"telegram_id": int(USER)})
    [linked] = await stitcher.stitch([start], now_s=T0 + 30)
    assert isinstance(linked, dict) and linked["user"]["fbc"] == FBC
    assert ("link_telegram", {"token": TOKEN, "telegram_id": USER}) in [
        (name, {k: v for k, v in args.items() if k != "now_s"}) for name, args in store.calls
    ]


async def test_events_with_empty_users_and_contexts_read_nothing(store: InMemoryStore) -> None:
    """Items whose user names no Telegram id and whose context holds no token make no store
    call and come back unchanged."""
    items: list[object] = [
        {"event": "lead", "user": {"email": "a@example.com"}, "context": {"session_id": "s"}},
        {"event": "lead", "user": {"telegram_id": None}, "context": None},
        "not an event",
    ]
    assert await _stitcher(store).stitch(items, now_s=T0) == items
    assert store.calls == []
