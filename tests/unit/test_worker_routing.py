"""Routing rules: an event goes to every matching rule's pixels, else to its default pixel."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from capigate.errors import ConfigError
from capigate.ingest import Caller, Ingestor
from capigate.plan.load import default_plan
from capigate.secret import Secret
from capigate.settings import Pixel, load
from capigate.store import InMemoryStore
from capigate.worker.routing import Route, parse_routes, pixels_for
from tests.unit.web_kit import BOT, NOW_S, PIXEL_ID, bot_event, live_settings

PIXELS = {"111", "222", "333"}
SOURCES = {"bot", "billing", "web"}


def _route(raw: object) -> tuple[Route, ...]:
    return parse_routes(raw, pixel_ids=PIXELS, source_names=SOURCES)


def test_no_rule_matches_the_default_pixel_is_used() -> None:
    """Without a matching rule the event keeps its default pixel."""
    routes = _route([{"events": ["subscribe"], "pixels": ["222"]}])
    assert pixels_for(routes, source="bot", plan_key="start_bot", event_name="Start_Bot",
                      default="111") == ("111",)  # fmt: skip


def test_an_event_goes_to_every_matching_rules_pixels_once() -> None:
    """Two matching rules fan out to their pixels, in order, without repeats."""
    routes = _route(
        [
            {"events": ["subscribe", "Purchase"], "pixels": ["222", "333"]},
            {"sources": ["billing"], "pixels": ["333", "111"]},
        ]
    )
    got = pixels_for(routes, source="billing", plan_key="subscribe", event_name="Subscribe",
                     default="111")  # fmt: skip
    assert got == ("222", "333", "111")


def test_rules_match_plan_keys_or_meta_names_and_sources() -> None:
    """A rule matches on the plan key or on Meta's event name, and only for its sources."""
    routes = _route([{"events": "Purchase", "sources": "web", "pixels": 222}])
    assert pixels_for(routes, source="web", plan_key="buy", event_name="Purchase",
                      default="111") == ("222",)  # fmt: skip
    assert pixels_for(routes, source="bot", plan_key="buy", event_name="Purchase",
                      default="111") == ("111",)  # fmt: skip


def test_no_routes_section_means_no_rules() -> None:
    """``routes:`` absent is an empty rule list."""
    assert _route(None) == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"pixels": ["111"]}, "routes: must be a list"),
        (["x"], r"routes\[0\]: must be a mapping"),
        ([{"events": ["a"]}], r"routes\[0\].pixels: required"),
        ([{"pixels": ["999"]}], "999 is not one of the configured pixels"),
        ([{"pixels": ["111"], "sources": ["nobody"]}], "'nobody' is not a configured source"),
        ([{"pixels": ["111"], "event": ["a"]}], r"routes\[0\].event: unknown"),
        ([{"pixels": []}], "must be a non-empty list"),
        ([{"pixels": ["111"], "events": [True]}], "must be a non-empty list"),
    ],
)
def test_bad_routes_are_refused_with_the_rule(raw: object, message: str) -> None:
    """Every mistake in ``routes:`` names the entry, the key and the rule."""
    with pytest.raises(ConfigError, match=message):
        _route(raw)


def test_routes_are_read_from_the_config_file(tmp_path: Path) -> None:
    """``routes:`` in capigate.yaml becomes Settings.routes, checked against pixels and sources."""
    config = tmp_path / "capigate.yaml"
    config.write_text(
        "pixels:\n  - {id: '111', token_env: TOKEN_A}\n  - {id: '222', token_env: TOKEN_B}\n"
        "sources:\n  - {name: bot, kind: server}\n"
        "routes:\n  - {events: [subscribe], sources: [bot], pixels: ['111', '222']}\n"
    )
    env = {"TOKEN_A": "EAA-a", "TOKEN_B": "EAA-b", "CAPIGATE_SOURCE_BOT_KEY": "k" * 16}
    settings = load(config_path=str(config), environ=env)
    assert settings.routes == (Route(("111", "222"), frozenset({"bot"}), frozenset({"subscribe"})),)


async def test_ingest_stores_one_copy_per_routed_pixel() -> None:
    """A routed event is stored once per pixel, same event_id; its result is queued once."""
    settings = dataclasses.replace(
        live_settings(),
        pixels=(
            Pixel(PIXEL_ID, Secret("EAA-a"), "TOKEN_A"),
            Pixel("222", Secret("EAA-b"), "TOKEN_B", test_event_code="TEST222"),
        ),
        routes=(Route((PIXEL_ID, "222"), frozenset({"bot"}), frozenset({"start_bot"})),),
    )
    store = InMemoryStore()
    ingestor = Ingestor(plan=default_plan(), store=store, settings=settings)
    [result] = await ingestor.ingest([bot_event("42")], prefix="$", caller=Caller(BOT), now_s=NOW_S)
    assert result.status == "queued"
    stored = sorted(await store.list_events(), key=lambda e: e.pixel_id)
    assert [(e.pixel_id, e.event_id, e.test_event_code) for e in stored] == [
        (PIXEL_ID, "startbot_42", None),
        ("222", "startbot_42", "TEST222"),
    ]
    [again] = await ingestor.ingest([bot_event("42")], prefix="$", caller=Caller(BOT), now_s=NOW_S)
    assert again.status == "duplicate" and len(await store.list_events()) == 2
