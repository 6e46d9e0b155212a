"""Derived events of a user linked to a landing visit carry its keys, as the user's sent events do.

The landing page reports a visit under a link token, the bot's /start links the Telegram user;
then the events the gateway derives for that user (from activity, and from the tick) carry the
visit's fbc, fbp, UTMs and, while fresh, its IP address and user agent. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from capigate.store import StoredEvent
from tests.integration.lifecycle_rig import DAY, MINUTE, Rig, activity, rig_for
from tests.unit.web_kit import ORIGIN, PUBLIC_IP, WEB

TOKEN = "Tk_9fA-2bQ7xZ3mN8pL4sV1"
FBC = "fb.1.1763799990000.IwAR2F4-dbP0l7Mn1Iaw"
FBP = "fb.1.1763799990000.1116446470"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
UTMS = {"utm_source": "fb", "utm_campaign": "spring_sale"}
USER = 279058397
KEYS = {"fbc": FBC, "fbp": FBP, "client_ip_address": PUBLIC_IP, "client_user_agent": UA}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    """The ingest use case on SQLite and on PostgreSQL."""
    async with rig_for(request.param, tmp_path) as opened:
        yield opened


async def _linked(rig: Rig, user: int = USER) -> None:
    """A landing visit under TOKEN, then /start TOKEN from the bot for ``user``."""
    landing = {
        "event": "landing_view",
        "event_id": "landing_s-7",
        "user": {"fbc": FBC, "fbp": FBP, "ip": PUBLIC_IP, "user_agent": UA},
        "properties": UTMS,
        "context": {"session_id": "s-7", "landing_token": TOKEN, "page_url": f"{ORIGIN}/"},
    }
    await rig.send(landing, source=WEB)
    start = {"event": "start_bot", "user": {"telegram_id": user}, "context": {"start_param": TOKEN}}
    await rig.send(start)


def _match_keys(event: StoredEvent) -> dict[str, Any]:
    user_data = event.payload["user_data"]
    return {key: user_data.get(key) for key in KEYS}


def _utms(event: StoredEvent) -> dict[str, Any]:
    custom = event.payload.get("custom_data", {})
    return {key: custom[key] for key in custom if key.startswith("utm_")}


async def test_a_timed_out_drop_off_carries_the_visit(rig: Rig) -> None:
    """The tick's Drop_Off has the visit's fbc, fbp, IP, user agent and UTMs."""
    await _linked(rig)
    await rig.send(activity("checkout_started", USER, step="plan_select"))
    rig.clock.advance(31 * MINUTE)
    assert await rig.tick() == 1
    [dropped] = await rig.events("Drop_Off")
    assert _match_keys(dropped) == KEYS
    assert _utms(dropped) == UTMS


async def test_activity_derived_events_carry_the_visits_utms(rig: Rig) -> None:
    """A First_Entry derived from an expense has the visit's UTMs along with its match keys."""
    await _linked(rig)
    await rig.send(activity("expense_logged", USER, amount=25000, category="food"))
    [entry] = await rig.events("First_Entry")
    assert _match_keys(entry) == KEYS
    assert _utms(entry) == UTMS


async def test_ip_and_agent_of_the_visit_go_stale_but_fbc_stays(rig: Rig) -> None:
    """Eight days on, a derived event keeps fbc, fbp and UTMs, not the visit's IP and agent."""
    await _linked(rig)
    await rig.send(activity("bot_message", USER))
    rig.clock.advance(8 * DAY)
    await rig.send(activity("bot_message", USER))
    [launch] = await rig.events("AppLaunch")
    assert _match_keys(launch) == {**KEYS, "client_ip_address": None, "client_user_agent": None}
    assert _utms(launch) == UTMS


async def test_an_unlinked_users_derived_events_carry_nothing(rig: Rig) -> None:
    """Another user's Drop_Off gets none of the visit's keys."""
    await _linked(rig)
    await rig.send(activity("checkout_started", 7))
    rig.clock.advance(31 * MINUTE)
    await rig.tick()
    [dropped] = await rig.events("Drop_Off")
    assert set(_match_keys(dropped).values()) == {None}
    assert _utms(dropped) == {}
