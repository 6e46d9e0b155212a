"""Derived events reach Meta's emulator through the delivery worker, which also runs the tick."""

from __future__ import annotations

from capigate.ingest import Caller, Ingestor
from capigate.plan import default_plan
from capigate.store import Status
from tests.unit.web_kit import BOT, live_settings
from tests.worker_kit import NOW_S, rig, settle_all, sha

MINUTE = 60.0


def _step(name: str, value: str, user: int) -> dict[str, object]:
    return {
        "event": "onboarding_step",
        "user": {"telegram_id": user},
        "properties": {"step": name, "value": value},
    }


async def test_worker_tick_and_delivery_of_derived_events() -> None:
    """Onboarding done (42) and abandoned (43): both derived events are accepted by Meta."""
    async with rig() as r:
        ingestor = Ingestor(plan=default_plan(), store=r.store, settings=live_settings())
        r.worker.lifecycle = ingestor.lifecycle
        steps = [_step(n, v, 42) for n, v in [("language", "uz"), ("name", "Ali Valiyev")]]
        steps += [_step("phone", "+998901234567", 42), _step("currency", "UZS", 42)]
        steps += [_step("capital", "500", 42), _step("language", "ru", 43)]
        await ingestor.ingest(steps, prefix="$.batch", caller=Caller(BOT), now_s=r.clock())
        r.clock.advance(31 * MINUTE)
        await settle_all(r)
        received = {e["event_id"]: e for e in await r.recorded()}
        assert set(received) == {"onboarding_42", f"dropoff_onboarding-43-{int(NOW_S)}"}
        done = received["onboarding_42"]
        assert done["event_name"] == "CompleteRegistration"
        assert done["user_data"]["ph"] == sha("998901234567")
        assert done["custom_data"]["step_count"] == 5
        assert done["action_source"] == "chat"  # no app_data from a bot: the plan's fallback
        drop = received[f"dropoff_onboarding-43-{int(NOW_S)}"]
        assert drop["custom_data"]["step_at_exit"] == "onboarding_name"
        assert all(e.status is Status.DELIVERED for e in await r.events())
