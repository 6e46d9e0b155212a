"""Ingest never changes the items it is given: checks and enrichment work on copies."""

from __future__ import annotations

import copy

from capigate.enrich import RequestFacts
from capigate.ingest import Caller, Ingestor
from capigate.plan.load import default_plan
from capigate.store import InMemoryStore
from tests.unit.test_web_auth import BOT_TOKEN, init_data
from tests.unit.web_kit import BOT, NOW_S, PUBLIC_IP, WEB, bot_event, live_settings, web_event


def _ingestor(store: InMemoryStore) -> Ingestor:
    settings = live_settings(telegram_bot_token=BOT_TOKEN)
    return Ingestor(plan=default_plan(), store=store, settings=settings)


async def test_init_data_is_dropped_from_a_copy_not_from_the_request_item() -> None:
    """The stored event has no initData and names the verified user; the caller's item still
    holds its context and user as sent."""
    store = InMemoryStore()
    item = web_event("s1", user={"email": "alice@example.com"})
    item["context"]["init_data"] = init_data()
    sent = copy.deepcopy(item)
    caller = Caller(WEB, RequestFacts(PUBLIC_IP, "Mozilla/5.0 (X11)", None, None))
    [result] = await _ingestor(store).ingest([item], prefix="$", caller=caller, now_s=NOW_S)
    assert result.status == "queued"
    assert item == sent
    [stored] = await store.list_events()
    assert "init_data" not in str(stored.payload)
    assert stored.payload["user_data"]["external_id"]  # the verified Telegram user, hashed


async def test_items_without_claims_or_facts_are_stored_as_sent() -> None:
    """A server item that needs no change is read as it is and left as it is."""
    store = InMemoryStore()
    items = [bot_event(), bot_event("279058398", event_id="b2")]
    sent = copy.deepcopy(items)
    results = await _ingestor(store).ingest(
        items, prefix="$.batch", caller=Caller(BOT), now_s=NOW_S
    )
    assert [r.status for r in results] == ["queued", "queued"]
    assert items == sent
