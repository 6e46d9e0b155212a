"""Activity through the real ingest path and store: derived events, dedup, refusals, no raw PII."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from capigate.ingest import EventResult, NotAllowed, Rejected
from tests.integration.lifecycle_rig import (
    DAY,
    HOUR,
    MINUTE,
    T0,
    Rig,
    activity,
    rig_for,
    sha,
    step,
)
from tests.unit.web_kit import PAY

ONBOARDING = [
    ("language", "uz"),
    ("name", "Ali Valiyev"),
    ("phone", "+998 90 123 45 67"),
    ("currency", "UZS"),
    ("capital", "1000000"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    """The ingest use case on SQLite and on PostgreSQL."""
    async with rig_for(request.param, tmp_path) as opened:
        yield opened


async def _onboard(rig: Rig, steps: list[tuple[str, str]], user: int = 42) -> list[EventResult]:
    results = []
    for name, value in steps:
        results.extend(await rig.send(step(name, value, user)))
        rig.clock.advance(MINUTE)
    return results


async def test_activity_is_recorded_not_sent(rig: Rig) -> None:
    """An activity answers 'recorded', stores no event of its own, and keeps the user's state."""
    [result] = await rig.send(activity("bot_message"))
    assert (result.status, result.event_name, result.event_id, result.derived) == (
        "recorded",
        "bot_message",
        "",
        (),
    )
    assert await rig.events() == []
    state = await rig.store.load_user_state("42")
    assert state is not None and (state.registered_at, state.pixel_id) == (T0, None)


async def test_onboarding_completes_with_hashed_pii_and_seed_fields(rig: Rig) -> None:
    """Five steps derive one CompleteRegistration: step_count=5, ph/fn/ln hashed, no raw PII."""
    results = await _onboard(rig, ONBOARDING)
    assert [r.derived for r in results[:4]] == [()] * 4
    assert results[4].derived == (("CompleteRegistration", "onboarding_42", "queued"),)
    [event] = await rig.events()
    payload = event.payload
    assert payload["custom_data"] == {
        "language_selected": "uz",
        "currency_selected": "UZS",
        "start_capital_amount": 1_000_000,  # a plain decimal value goes out as a number
        "step_count": 5,
    }
    user_data = payload["user_data"]
    assert user_data["ph"] == sha("998901234567")
    assert (user_data["fn"], user_data["ln"]) == (sha("ali"), sha("valiyev"))
    assert user_data["external_id"] == sha("42")
    assert event.source == "lifecycle" and event.plan_key == "onboarding_complete"


async def test_no_raw_onboarding_pii_reaches_the_database_file(tmp_path: Path) -> None:
    """The SQLite file (and its WAL) never holds the phone digits or the name in clear."""
    async with rig_for("sqlite", tmp_path) as rig:
        await _onboard(rig, ONBOARDING)
        state = await rig.store.load_user_state("42")
        assert state is not None and state.onboarding_values["phone"] == sha("998901234567")
        assert rig.path is not None
        files = [rig.path, rig.path.with_name(rig.path.name + "-wal")]
        data = b"".join(p.read_bytes() for p in files if p.exists())
        for raw in (b"901234567", b"90 123 45 67", b"Valiyev", b"Ali "):
            assert raw not in data


async def test_first_expense_derives_first_entry_once(rig: Rig) -> None:
    """The first expense_logged becomes First_Entry with its fields; later ones do not."""
    props = {"entry_mode": "voice", "amount": 25000, "category": "food", "currency": "UZS"}
    [first] = await rig.send(activity("expense_logged", **props))
    assert first.derived == (("First_Entry", "firstentry_42", "queued"),)
    rig.clock.advance(MINUTE)
    [second] = await rig.send(activity("expense_logged", **props))
    assert second.derived == ()
    [event] = await rig.events("First_Entry")
    assert event.payload["custom_data"] == {
        "entry_mode": "voice",
        "amount": 25000,
        "category_assigned": "food",
        "currency": "UZS",
    }


async def test_backfilled_event_dedups_the_derived_one(rig: Rig) -> None:
    """A source's own first_entry (a backfill) and the derived one: whichever is second goes."""
    [sent] = await rig.send({"event": "first_entry", "user": {"telegram_id": 42}})
    assert sent.status == "queued"
    [derived] = await rig.send(activity("expense_logged", amount=5))
    assert derived.derived == ()  # remembered as done: not derived at all
    [first] = await rig.send(activity("expense_logged", 43, amount=5))
    assert first.derived == (("First_Entry", "firstentry_43", "queued"),)
    [late] = await rig.send({"event": "first_entry", "user": {"telegram_id": 43}})
    assert late.status == "duplicate"
    assert sorted(e.event_id for e in await rig.events()) == ["firstentry_42", "firstentry_43"]


async def test_app_launch_after_twelve_quiet_hours(rig: Rig) -> None:
    """A message after 12 h of silence derives AppLaunch with session_{user}_{ts}."""
    await rig.send(activity("bot_message"))
    rig.clock.advance(11 * HOUR)
    [quiet] = await rig.send(activity("bot_message"))
    assert quiet.derived == ()
    rig.clock.advance(12 * HOUR)
    [back] = await rig.send(activity("bot_message"))
    assert back.derived == (("AppLaunch", f"session_42_{int(rig.clock())}", "queued"),)


async def test_a_start_bot_registers_its_user(rig: Rig) -> None:
    """/start alone registers the user: a message three days later is a day-3 7d_Return."""
    [start] = await rig.send({"event": "start_bot", "user": {"telegram_id": 42}})
    assert start.status == "queued"
    state = await rig.store.load_user_state("42")
    assert state is not None and state.registered_at == rig.clock()
    rig.clock.advance(3 * DAY)
    [back] = await rig.send(activity("bot_message"))
    assert back.derived == (
        ("AppLaunch", f"session_42_{int(rig.clock())}", "queued"),
        ("7d_Return", "ret7_42", "queued"),
    )
    [event] = await rig.events("7d_Return")
    assert event.payload["custom_data"]["days_since_start"] == 3


async def test_retention_from_ingest_is_stored_once(rig: Rig) -> None:
    """Day 14 derives 14d_Return once; another activity that day adds nothing."""
    await rig.send(activity("bot_message"))
    rig.clock.advance(14 * DAY)
    [first] = await rig.send(activity("bot_message"))
    assert ("14d_Return", "retention14_42", "queued") in first.derived
    rig.clock.advance(HOUR)
    await rig.send(activity("bot_message"))
    [event] = await rig.events("14d_Return")
    assert event.payload["custom_data"] == {"days_active": 14}


async def test_onboarding_drop_off_comes_from_the_tick(rig: Rig) -> None:
    """Two steps then 30 quiet minutes: the worker's tick stores one Drop_Off."""
    await _onboard(rig, ONBOARDING[:2])
    rig.clock.advance(28 * MINUTE)
    assert await rig.tick() == 0
    rig.clock.advance(10 * MINUTE)
    assert await rig.tick() == 1
    [event] = await rig.events("Drop_Off")
    assert event.event_id == f"dropoff_onboarding-42-{int(T0)}"
    assert event.payload["custom_data"] == {
        "step_at_exit": "onboarding_phone",
        "reason": "timeout",
        "session_duration": 60,
    }
    assert event.event_time == int(T0 + MINUTE)
    rig.clock.advance(HOUR)
    assert await rig.tick() == 0


async def test_checkout_cancel_and_timeout(rig: Rig) -> None:
    """A cancelled checkout drops off at once; an abandoned one after the timeout."""
    await rig.send(activity("checkout_started", 7))
    [cancel] = await rig.send(activity("checkout_cancelled", 7, reason="price"))
    assert [d[0] for d in cancel.derived] == ["Drop_Off"]
    await rig.send(
        {**activity("checkout_started", 8, step="card"), "context": {"session_id": "p-8"}}
    )
    rig.clock.advance(31 * MINUTE)
    assert await rig.tick() == 1
    reasons = {e.event_id: e.payload["custom_data"]["reason"] for e in await rig.events()}
    assert reasons == {f"dropoff_checkout-7-{int(T0)}": "price", "dropoff_p-8": "timeout"}


async def test_bad_activity_refuses_the_whole_batch(rig: Rig) -> None:
    """An unknown step refuses the batch: no event stored, no state kept (all or nothing)."""
    with pytest.raises(Rejected) as caught:
        await rig.send(
            {"event": "start_bot", "user": {"telegram_id": 42}},
            step("favourite_colour", "blue"),
        )
    assert [(f.path, f.rule) for f in caught.value.findings] == [
        ("$.batch[1].properties.step", "onboarding_step")
    ]
    assert await rig.events() == []
    assert await rig.store.load_user_state("42") is None


async def test_a_source_may_send_only_its_activities(rig: Rig) -> None:
    """The payment backend may not report bot messages: 403 naming the activity."""
    with pytest.raises(NotAllowed, match="bot_message"):
        await rig.send(activity("bot_message"), source=PAY)


async def test_mixed_batch_keeps_request_order(rig: Rig) -> None:
    """Events and activities in one batch answer in request order."""
    results = await rig.send(
        activity("bot_message"),
        {"event": "start_bot", "user": {"telegram_id": 42}},
        activity("expense_logged", amount=1),
    )
    assert [(r.index, r.status) for r in results] == [
        (0, "recorded"),
        (1, "queued"),
        (2, "recorded"),
    ]


async def test_a_backfill_is_remembered_beyond_the_dedup_window(rig: Rig) -> None:
    """A retention event the bot sent itself is never derived again, even after dedup purge."""
    await rig.send(activity("bot_message"))
    rig.clock.advance(2 * DAY)
    [sent] = await rig.send({"event": "retention_30d", "user": {"telegram_id": 42}})
    assert sent.status == "queued"
    rig.clock.advance(29 * DAY)
    assert await rig.store.purge(now_s=rig.clock()) == 1  # the backfill's id is forgotten
    [later] = await rig.send(activity("bot_message"))
    assert [d[0] for d in later.derived] == ["AppLaunch"]
    assert [e.event_id for e in await rig.events("1m_Return")] == ["retention30_42"]
