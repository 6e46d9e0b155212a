"""The lifecycle engine over the memory store: reading, recording, conflicts, the tick's lease."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from capigate.errors import StoreError
from capigate.findings import Finding, error
from capigate.lifecycle import DEFAULT_CONFIG, UserState
from capigate.lifecycle_engine import SCHEDULER, LifecycleEngine, Observed
from capigate.sources import DEV_SOURCE, Source, SourceKind
from capigate.store import EnqueueResult, InMemoryStore, NewEvent

T0 = 1_763_800_000.0
BOT = Source("tg", SourceKind.SERVER, channel="bot", pixel_id="111", test_event_code="BOTTEST")
SITE = Source("site", SourceKind.BROWSER, channel="website")


class FakePrepare:
    """Turns derived items into NewEvents (refusing plan keys in ``refuse``); records items."""

    def __init__(self, refuse: Sequence[str] = (), routes: Sequence[str] = ()) -> None:
        self.items: list[tuple[dict[str, Any], str | None]] = []
        self.refuse = set(refuse)
        self.routes = tuple(routes)

    async def __call__(
        self, item: dict[str, Any], pixel_id: str | None, now_s: float
    ) -> tuple[NewEvent, ...] | list[Finding]:
        self.items.append((item, pixel_id))
        key = item["event"]
        if key in self.refuse:
            return [error("$.event", "refused", "no")]
        user = item["user"].get("telegram_id")
        return self.copies(
            pixel_id=pixel_id or "default",
            event_name=key,
            event_id=f"{key}_{user}_{item['event_time']}",
            event_time=item["event_time"],
            action_source="chat",
            source="lifecycle",
            plan_key=key,
            test_event_code=None,
            payload={"event_name": key},
            match_score=1,
        )

    def copies(self, **fields: Any) -> tuple[NewEvent, ...]:
        """The event for its pixel, plus one copy per extra routed pixel."""
        event = NewEvent(**fields)
        return (event, *(replace(event, pixel_id=p) for p in self.routes))


def _engine(store: InMemoryStore, prepare: FakePrepare | None = None, **options: Any) -> Any:
    return LifecycleEngine(store, DEFAULT_CONFIG, prepare=prepare or FakePrepare(), **options)


def _item(name: str, at_s: float = T0, user: int = 42, **properties: Any) -> dict[str, Any]:
    return {
        "event": name,
        "event_time": at_s,
        "user": {"telegram_id": user},
        "properties": properties,
    }


def _observed(engine: Any, item: dict[str, Any], source: Source = BOT) -> Observed:
    observed = engine.read(item, source=source, now_s=T0 + 400 * 86_400)
    assert isinstance(observed, Observed), observed
    return observed


def test_is_activity_knows_only_declared_activity_names() -> None:
    """Plan keys, unknown names and non-objects are not activities."""
    engine = _engine(InMemoryStore())
    assert engine.is_activity({"event": "bot_message"})
    assert not engine.is_activity({"event": "start_bot"})
    assert not engine.is_activity({"event": 5})
    assert not engine.is_activity(["bot_message"])


def test_read_checks_the_source_and_keeps_routing() -> None:
    """A source not listed for the activity is refused; pixel and test code come along."""
    engine = _engine(InMemoryStore())
    refused = engine.read(_item("bot_message"), source=SITE, now_s=T0)
    assert [f.rule for f in refused] == ["source_not_allowed"]
    assert "allowed: bot" in refused[0].message
    observed = _observed(engine, _item("bot_message"))
    assert (observed.pixel_id, observed.test_event_code) == ("111", "BOTTEST")
    item = {**_item("bot_message"), "context": {"test_event_code": "OWN"}}
    assert _observed(engine, item).test_event_code == "OWN"
    assert isinstance(engine.read(_item("checkout_started"), source=DEV_SOURCE, now_s=T0), Observed)


def test_read_returns_the_activity_findings() -> None:
    """A broken activity comes back as its findings."""
    engine = _engine(InMemoryStore())
    findings = engine.read({"event": "bot_message"}, source=BOT, now_s=T0)
    assert [f.rule for f in findings] == ["activity_user_required"]


async def test_record_saves_state_and_stores_derived_events_per_activity() -> None:
    """Each activity gets the events it derived; state and events land in one save."""
    store = InMemoryStore()
    prepare = FakePrepare()
    engine = _engine(store, prepare)
    first = _observed(engine, _item("expense_logged", T0, amount=5))
    again = _observed(engine, _item("bot_message", T0 + 14 * 86_400))
    other = _observed(engine, _item("bot_message", T0, user=7))
    results = await engine.record([first, other, again], now_s=T0 + 14 * 86_400)
    assert [[s.event_name for s in r] for r in results] == [
        ["first_entry"],
        [],
        ["app_open", "retention_14d"],
    ]
    assert all(s.status == "queued" for r in results for s in r)
    state = await store.load_user_state("42")
    assert state is not None
    assert (state.version, state.entries_count, state.pixel_id) == (1, 1, "111")
    assert [name for name, _ in store.calls].count("save_user_state") == 2
    assert prepare.items[0][0]["user"]["telegram_id"] == "42"
    assert prepare.items[0][1] == "111"


async def test_refused_derived_events_are_counted_and_the_state_still_saved() -> None:
    """A derived event the plan refuses is logged and counted; the rule stays done."""
    store = InMemoryStore()
    engine = _engine(store, FakePrepare(refuse=["first_entry"]))
    [stored] = await engine.record([_observed(engine, _item("expense_logged"))], now_s=T0)
    assert stored == [] and engine.unsendable == 1
    state = await store.load_user_state("42")
    assert state is not None and state.first_entry_at == T0


class ConflictingStore(InMemoryStore):
    """Another writer saves the same user right before each of our first ``n`` saves."""

    def __init__(self, conflicts: int) -> None:
        super().__init__()
        self.conflicts = conflicts

    async def save_user_state(self, state: UserState, **kwargs: Any) -> list[EnqueueResult] | None:
        if self.conflicts:
            self.conflicts -= 1
            saved = self._lifecycle.users.get(state.user_key)
            version = saved.version if saved else 0
            bumped = UserState(state.user_key, entries_count=100 + self.conflicts)
            await super().save_user_state(bumped, expected_version=version, events=[], now_s=T0)
        return await super().save_user_state(state, **kwargs)


async def test_a_conflicting_save_is_read_again_and_re_applied() -> None:
    """On a conflict the engine re-reads the winner's state and applies on top of it."""
    store = ConflictingStore(conflicts=2)
    engine = _engine(store)
    await engine.record([_observed(engine, _item("expense_logged"))], now_s=T0)
    state = await store.load_user_state("42")
    assert state is not None and (state.entries_count, state.version) == (101, 3)


async def test_endless_conflicts_give_up_with_a_store_error() -> None:
    """A user saved by others on every attempt fails the request (the caller retries)."""
    engine = _engine(ConflictingStore(conflicts=100))
    with pytest.raises(StoreError, match="kept changing"):
        await engine.record([_observed(engine, _item("bot_message"))], now_s=T0)


async def test_tick_drops_off_due_users_once_holding_the_lease() -> None:
    """The tick emits Drop_Off for a timed-out onboarding, then has nothing due."""
    store = InMemoryStore()
    engine = _engine(store, tick_interval_s=5)
    step = _observed(engine, _item("onboarding_step", T0, step="language", value="uz"))
    await engine.record([step], now_s=T0)
    early = await engine.tick(now_s=T0 + 60, owner="w1")
    assert (early.held, early.users, early.events) == (True, 0, 0)
    report = await engine.tick(now_s=T0 + 1800, owner="w1")
    assert (report.held, report.users, report.events) == (True, 1, 1)
    assert [e.event_name for e in await store.list_events()] == ["drop_off"]
    assert (await engine.tick(now_s=T0 + 3600, owner="w1")).events == 0


async def test_tick_runs_at_most_once_per_interval() -> None:
    """Between intervals the tick does not even ask for the lease."""
    store = InMemoryStore()
    engine = _engine(store, tick_interval_s=5)
    assert (await engine.tick(now_s=T0, owner="w1")).held
    assert not (await engine.tick(now_s=T0 + 4, owner="w1")).held
    assert [name for name, _ in store.calls].count("acquire_scheduler") == 1


async def test_only_the_lease_holder_ticks_and_release_hands_over() -> None:
    """A second worker waits for the lease; after release it takes over."""
    store = InMemoryStore()
    first, second = _engine(store), _engine(store)
    assert (await first.tick(now_s=T0, owner="w1")).held
    assert not (await second.tick(now_s=T0 + 1, owner="w2")).held
    await first.release(owner="w1")
    assert (await second.tick(now_s=T0 + 10, owner="w2")).held
    assert await store.acquire_scheduler(SCHEDULER, owner="w2", now_s=T0 + 11, lease_s=1)


async def test_tick_skips_a_user_handled_meanwhile() -> None:
    """If the due user was saved without a deadline since the query, the tick leaves it."""
    store = InMemoryStore()
    engine = _engine(store)
    await store.save_user_state(
        UserState("1", next_due_at=T0 - 1), expected_version=0, events=[], now_s=T0
    )
    stale = (await store.due_user_states(now_s=T0, limit=1))[0]
    await store.save_user_state(UserState("1"), expected_version=1, events=[], now_s=T0)
    applied = await engine._timeouts(stale, now_s=T0)
    assert applied is not None  # the stale copy looks due...
    assert await engine._timeouts(await store.load_user_state("1"), now_s=T0) is None  # not now
    assert await engine._timeouts(None, now_s=T0) is None


async def test_a_failing_user_does_not_stop_the_tick(caplog: pytest.LogCaptureFixture) -> None:
    """An unexpected error for one user is logged; the other due users are still handled."""
    store = InMemoryStore()

    class Exploding(FakePrepare):
        async def __call__(self, item: dict[str, Any], pixel_id: str | None, now_s: float) -> Any:
            if item["user"]["telegram_id"] == "1":
                raise RuntimeError("boom")
            return await super().__call__(item, pixel_id, now_s)

    engine = _engine(store, Exploding())
    for user in (1, 2):
        step = _observed(engine, _item("checkout_started", T0, user=user))
        await engine.record([step], now_s=T0)
    report = await engine.tick(now_s=T0 + 1800, owner="w1")
    assert (report.users, report.events) == (2, 1)
    assert "tick failed" in caplog.text


async def test_note_sent_remembers_backfilled_once_only_events() -> None:
    """A directly sent first_entry marks the rule done; other keys and anonymous items do not."""
    store = InMemoryStore()
    engine = _engine(store)
    sent = [
        (
            {"event": "first_entry", "user": {"telegram_id": 42}, "event_time": T0 - 60},
            "first_entry",
        ),
        ({"event": "first_entry", "user": {"user_id": " u-9 "}}, "first_entry"),
        ({"event": "app_open", "user": {"telegram_id": 42}}, "app_open"),
        ({"event": "first_entry", "user": {"email": "a@b.c"}}, "first_entry"),
        ({"event": "first_entry", "user": "42"}, "first_entry"),
        ({"event": "Purchase", "user": {"telegram_id": 42}}, None),
    ]
    assert await engine.note_sent(sent, now_s=T0) == 2
    state = await store.load_user_state("42")
    assert state is not None and state.first_entry_at == T0 - 60
    assert (await store.load_user_state("u-9")) is not None
    [stored] = await engine.record([_observed(engine, _item("expense_logged"))], now_s=T0)
    assert stored == []


async def test_routed_copies_are_stored_and_reported_once() -> None:
    """A derived event routed to two pixels is stored twice and reported as one."""
    store = InMemoryStore()
    engine = _engine(store, FakePrepare(routes=["222"]))
    [stored] = await engine.record([_observed(engine, _item("expense_logged"))], now_s=T0)
    assert [(s.event_name, s.status) for s in stored] == [("first_entry", "queued")]
    assert sorted(e.pixel_id for e in await store.list_events()) == ["111", "222"]


def _start(at_s: float, user: int = 42) -> dict[str, Any]:
    return {
        "event": "start_bot",
        "event_time": at_s,
        "user": {"telegram_id": user, "fbc": "fb.1.1.click"},
        "context": {"start_param": "AbCdEfGhIjKlMnOp"},
    }


async def test_a_sent_start_registers_a_new_user_and_derives_nothing() -> None:
    """start_bot (an activity key) registers its user at its time; the first activity derives
    nothing, so no event is prepared."""
    store = InMemoryStore()
    prepare = FakePrepare()
    engine = _engine(store, prepare)
    assert await engine.note_sent([(_start(T0 - 60), "start_bot")], now_s=T0) == 1
    state = await store.load_user_state("42")
    assert state is not None
    assert (state.registered_at, state.last_activity_at, state.telegram_id) == (
        T0 - 60,
        T0 - 60,
        "42",
    )
    assert prepare.items == [] and await store.list_events() == []


async def test_a_start_after_a_quiet_spell_derives_app_launch_to_the_last_pixel() -> None:
    """A /start 12 h after the last activity derives AppLaunch with the start's user keys,
    routed like the user's last activity (pixel, test code)."""
    store = InMemoryStore()
    prepare = FakePrepare()
    engine = _engine(store, prepare)
    await engine.record([_observed(engine, _item("bot_message", T0))], now_s=T0)
    later = T0 + 13 * 3600
    assert await engine.note_sent([(_start(later), "start_bot")], now_s=later) == 1
    [(item, pixel_id)] = prepare.items
    assert (item["event"], item["event_time"], pixel_id) == ("app_open", int(later), "111")
    assert item["user"]["fbc"] == "fb.1.1.click"
    assert item["context"]["test_event_code"] == "BOTTEST"
    assert [e.event_name for e in await store.list_events()] == ["app_open"]


async def test_a_start_counts_as_activity_only_when_configured() -> None:
    """With activity_keys: [] a sent start_bot changes nobody's state."""
    store = InMemoryStore()
    config = replace(DEFAULT_CONFIG, activity_keys=frozenset())
    engine = LifecycleEngine(store, config, prepare=FakePrepare())
    assert await engine.note_sent([(_start(T0), "start_bot")], now_s=T0) == 0
    assert await store.load_user_state("42") is None
