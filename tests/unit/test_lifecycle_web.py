"""Activity over HTTP: 202 'recorded' with the derived events, and the worker gets the engine."""

from __future__ import annotations

from tests.unit.web_kit import BOT_KEY, INGEST, bearer, live_settings, running


async def test_activity_answers_recorded_with_its_derived_events() -> None:
    """The first expense is recorded and reports the First_Entry it derived."""
    item = {"event": "expense_logged", "user": {"telegram_id": 42}, "properties": {"amount": 9}}
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=item, headers=bearer(BOT_KEY))
        stored = await h.stored()
        gateway = h.app.state.gateway
        if gateway.worker is not None:
            assert gateway.worker.lifecycle is gateway.ingestor.lifecycle
    assert response.status_code == 202, response.text
    (result,) = response.json()["results"]
    assert (result["status"], result["event_name"], result["event_id"]) == (
        "recorded",
        "expense_logged",
        "",
    )
    assert result["derived"] == [
        {"event_name": "First_Entry", "event_id": "firstentry_42", "status": "queued"}
    ]
    assert [e.event_id for e in stored] == ["firstentry_42"]


async def test_an_unknown_step_is_a_422_naming_the_field() -> None:
    """A broken activity is refused like a broken event, with its JSONPath."""
    item = {"event": "onboarding_step", "user": {"telegram_id": 42}, "properties": {"step": "x"}}
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=item, headers=bearer(BOT_KEY))
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["$.properties.step"]
