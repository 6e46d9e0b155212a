"""Every row of seed 000 reaches Meta's emulator as the seed (and the plan's resolution of its
conflicts) says: event_name, action_source, event_id, custom_data and hashed user_data.

One live gateway (``seed000_kit.live_gateway``: real HTTP, SQLite, sandbox emulator, worker and
lifecycle tick in-process, all on one ``FrozenClock``) takes a year of the funnel, driven the way
each source would drive it:

* the landing page (browser key, Origin, User-Agent, client IP through the site's proxy, ``_fbp``
  and ``_fbc`` cookies or ``fbclid`` in the page URL): ``landing_view``, ``cta_click``, a
  ``drop_off`` on the web;
* the bot (server key): ``start_bot`` with the landing page's link token, the five onboarding
  steps as the seed sends them (``user_name`` and ``phone_number`` as properties), plain
  activity, and backfills of the derived events;
* the mini app's backend (server key, ``context.platform`` and the webview's user agent, so the
  plan fills ``app_data``): the capital step, the first expense, opening the app;
* the billing backend (signed webhooks): ``subscribe``, ``plan_change``, ``cancel_subscription``,
  ``reactivate_subscription``;
* the lifecycle engine, from activity and from the clock: ``first_entry``,
  ``onboarding_complete``, ``drop_off``, ``app_open``, ``return_7d``, ``retention_{N}d``. Each is
  also backfilled by the bot, both after the gateway derived it (answered ``duplicate``) and
  before (it is never derived again); Meta receives every event_id once.

Expected values are computed here from the inputs (hashes with hashlib over values normalized by
hand), never with capigate's own normalizer.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from capigate.clock import FrozenClock
from capigate.plan import default_plan
from capigate.store import StoredEvent
from tests.e2e.seed000_kit import (
    ATMOS_CALLBACK_KEY,
    BOT_KEY,
    DAY,
    HOUR,
    MINI_KEY,
    MINUTE,
    ORIGIN,
    PLAN_KEYS,
    RETENTION_DAYS,
    SEED,
    T0,
    Expected,
    Live,
    check_received,
    live_gateway,
)

pytestmark = pytest.mark.slow  # a simulated year through a live gateway: about 5 s

U1 = "279058397"  # clicked the ad, goes all the way: onboarding, expenses, billing, a year
U2 = "279058398"  # abandons onboarding
U3 = "279058399"  # whose bot backfills derived events before the activity that derives them
SESSION = "s-81f2"
TOKEN = "Tk_9fA-2bQ7xZ3mN8pL4sV1"
FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"  # Meta's example
FBP = "fb.1.1763799990000.1116446470"
FBC = f"fb.1.{int(T0) * 1000}.{FBCLID}"  # built from fbclid at the landing view's time
UTMS = {
    "utm_source": "facebook",
    "utm_medium": "paid_social",
    "utm_campaign": "uz_launch",
    "utm_content": "video_a",
    "utm_term": "expense tracker",
}
PAGE = f"{ORIGIN}/?fbclid={FBCLID}&utm_source=facebook"
LANDING_IP = "84.54.70.12"
LANDING_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0"
MINI_IP = "95.214.210.7"
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Mobile Safari/537.36 Telegram-Android/11.2.3 (Google Pixel 8; Android 14; SDK 34)"
)
IOS_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
PHONE, PHONE_NORMAL = "+998 90 123 45 67", "998901234567"
NATIONAL_PHONE = "90 123 45 67"  # the plan's default region UZ makes it +998
EMAIL, EMAIL_NORMAL = " Dilnoza.K@Example.COM ", "dilnoza.k@example.com"
KEYS_TTL_S = 90 * DAY  # attribution defaults: fbc, fbp, UTMs carry this long
IP_UA_TTL_S = 7 * DAY  # IP address and user agent this long
LANDING_RAW = {"client_ip_address": LANDING_IP, "client_user_agent": LANDING_UA}
TICK = "derived by the tick"  # no answer to read: the store must hold the backfill alone
DERIVED_KEYS = frozenset(
    {"first_entry", "onboarding_complete", "drop_off", "app_open", "return_7d"}
    | {f"retention_{days}d" for days in RETENTION_DAYS}
)


@dataclass(frozen=True, slots=True)
class Dedup:
    """A second copy of an event: what the gateway answered for it (``duplicate``, or ``not
    derived`` when the engine did not derive it at all)."""

    label: str
    event_id: str
    answer: str


@dataclass
class Outcome:
    """What the funnel sent, what Meta received, and what the store kept."""

    expected: list[Expected]
    dedups: list[Dedup]
    received: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    stored: list[StoredEvent]


class Funnel:
    """Drives the funnel through a live gateway and writes down what Meta must receive."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.expected: list[Expected] = []
        self.later: list[Expected] = []  # derived by the tick once the clock gets there
        self.dedups: list[Dedup] = []
        self.seen_at = T0  # the landing page's last report (the cta click moves it)

    # --- bookkeeping -------------------------------------------------------------------

    def at(self, offset_s: float) -> int:
        """Move the clock to T0 + offset (forward); past a minute, let the worker settle first."""
        target = T0 + offset_s
        assert target >= self.live.clock()
        if target - self.live.clock() > MINUTE:
            self.settle()
        self.live.clock.set(target)
        return self.live.now()

    def settle(self) -> None:
        self.live.settle(e.event_id for e in self.expected)

    def expect(self, key: str, how: str, ts: int, ids: dict[str, Any], **fields: Any) -> str:
        """Write down an event Meta must receive; ``how="tick"``: once the timeout passed."""
        event_id = SEED[key].event_id.format(**ids)
        fields.setdefault("hashed", {})
        fields["hashed"] = {k: frozenset(v) for k, v in fields["hashed"].items()}
        expected = Expected(key, event_id, how=how, event_time=ts, **fields)
        (self.later if how == "tick" else self.expected).append(expected)
        return event_id

    def timeouts_passed(self) -> None:
        """The clock passed the drop-off timeout: the tick's events are due now."""
        self.expected += self.later
        self.later = []

    def carried(self, ts: int, *, own_ip_ua: bool = False) -> dict[str, str]:
        """The landing visit's raw keys a later event of U1 inherits at ``ts``."""
        keys: dict[str, str] = {}
        if ts - self.seen_at <= KEYS_TTL_S:
            keys.update(fbc=FBC, fbp=FBP)
        if ts - self.seen_at <= IP_UA_TTL_S and not own_ip_ua:
            keys.update(LANDING_RAW)
        return keys

    def u1(self, ts: int, *, own_ip_ua: bool = False, **fields: Any) -> dict[str, Any]:
        """Expectation fields of a U1 event that went through the attribution step."""
        fields["raw"] = {**fields.get("raw", {}), **self.carried(ts, own_ip_ua=own_ip_ua)}
        fields.setdefault("extra_custom", UTMS)
        return fields

    def duplicate(self, label: str, event_id: str, results: list[dict[str, Any]]) -> None:
        (result,) = results
        assert result["event_id"] == event_id, result
        self.dedups.append(Dedup(label, event_id, result["status"]))

    def not_derived(self, label: str, event_id: str, results: list[dict[str, Any]]) -> None:
        derived = {d["event_id"]: d["status"] for r in results for d in r.get("derived", [])}
        self.dedups.append(Dedup(label, event_id, derived.get(event_id, "not derived")))

    # --- sources -------------------------------------------------------------------------

    def bot(self, *items: dict[str, Any]) -> list[dict[str, Any]]:
        return self.live.server(BOT_KEY, *items)

    def mini(self, *items: dict[str, Any]) -> list[dict[str, Any]]:
        return self.live.server(MINI_KEY, *items)


def item(event: str, ts: int, telegram_id: str, **sections: Any) -> dict[str, Any]:
    """An ingest item of a Telegram user; ``sections``: properties, context, more user keys."""
    body: dict[str, Any] = {"event": event, "event_time": ts}
    body["user"] = {"telegram_id": telegram_id, **sections.pop("user", {})}
    body.update({name: value for name, value in sections.items() if value})
    return body


def mini_user(ua: str) -> dict[str, str]:
    return {"ip": MINI_IP, "user_agent": ua}


def activity(name: str, ts: int, telegram_id: str, **sections: Any) -> dict[str, Any]:
    return item(name, ts, telegram_id, **sections)


def step(ts: int, telegram_id: str, name: str, value: str, **sections: Any) -> dict[str, Any]:
    properties = {"step": name, "value": value}
    return activity("onboarding_step", ts, telegram_id, properties=properties, **sections)


# --- the funnel, in time order -------------------------------------------------------------


def landing(f: Funnel) -> None:
    """The landing page: a view (beacon, fbclid in the URL) and the CTA click (cookies)."""
    ts = f.at(0)
    view = {
        "event": "landing_view",
        "event_id": f"viewcontent_{SESSION}",  # capigate.js fills the template (shared with fbq)
        "event_time": ts,
        "user": {"fbp": FBP},
        "properties": UTMS,
        "context": {"page_url": PAGE, "session_id": SESSION, "landing_token": TOKEN},
    }
    f.live.browser(view, ip=LANDING_IP, user_agent=LANDING_UA, beacon=True)
    raw = {**LANDING_RAW, "fbc": FBC, "fbp": FBP}
    f.expect("landing_view", "website", ts, {"session_id": SESSION}, action_source="website",
             custom=UTMS, raw=raw, url=PAGE)  # fmt: skip
    ts = f.at(30)
    click = {
        "event": "cta_click",  # no event_id: the plan's template makes it
        "event_time": ts,
        "properties": {"button_id": "open_telegram", **UTMS},
        "context": {"page_url": f"{ORIGIN}/", "session_id": SESSION, "landing_token": TOKEN},
    }
    cookies = {"_fbp": FBP, "_fbc": FBC}
    f.live.browser(click, ip=LANDING_IP, user_agent=LANDING_UA, cookies=cookies)
    f.seen_at = ts
    f.expect("cta_click", "website", ts, {"session_id": SESSION}, action_source="website",
             custom={"button_id": "open_telegram", **UTMS}, raw=raw, url=f"{ORIGIN}/")  # fmt: skip


def start_and_onboarding(f: Funnel) -> None:
    """/start with the link token, then the five steps (plan keys plus activity)."""
    ts = f.at(60)
    start = item("start_bot", ts, U1, user={"phone": PHONE},
                 properties={"language": "uz", "currency_pref": "UZS"},
                 context={"start_param": TOKEN})  # fmt: skip
    f.bot(start)
    f.expect("start_bot", "bot", ts, {"telegram_id": U1}, action_source="chat",
             **f.u1(ts, custom={"language": "uz", "currency_pref": "UZS", **UTMS},
                    hashed={"external_id": {U1}, "ph": {PHONE_NORMAL}}))  # fmt: skip
    bot_steps = [
        ("onboarding_language", "language", {"language_selected": "uz"}, "uz", {}),
        ("onboarding_name", "name", {"user_name": "Ali Valiyev"}, "Ali Valiyev",
         {"fn": {"ali"}, "ln": {"valiyev"}}),
        ("onboarding_phone", "phone", {"phone_number": NATIONAL_PHONE}, NATIONAL_PHONE,
         {"ph": {PHONE_NORMAL}}),
        ("onboarding_currency", "currency", {"currency_selected": "UZS"}, "UZS", {}),
    ]  # fmt: skip
    for n, (key, name, properties, value, hashed) in enumerate(bot_steps):
        ts = f.at(120 + 60 * n)
        f.bot(item(key, ts, U1, properties=properties), step(ts, U1, name, value))
        status = {"status": name} | {k: v for k, v in properties.items() if k.endswith("_selected")}
        f.expect(key, "bot", ts, {"user_id": U1, "ts": ts}, action_source="chat",
                 **f.u1(ts, custom=status, hashed={"external_id": {U1}, **hashed}))  # fmt: skip
    ts = f.at(360)  # the last step from the mini app on an iPhone: app_data, action_source app
    ios = {"user": mini_user(IOS_UA), "context": {"platform": "ios"}}
    capital = item("onboarding_capital", ts, U1, properties={"start_capital_amount": 5_000_000},
                   **ios)  # fmt: skip
    results = f.mini(capital, step(ts, U1, "capital", "5000000", **ios))
    app = {"action_source": "app", "os": "i2", "os_version": "17.5"}
    raw = {"client_ip_address": MINI_IP, "client_user_agent": IOS_UA}
    f.expect("onboarding_capital", "mini_app", ts, {"user_id": U1, "ts": ts}, **app,
             **f.u1(ts, own_ip_ua=True, raw=raw,
                    custom={"status": "capital", "start_capital_amount": 5_000_000},
                    hashed={"external_id": {U1}}))  # fmt: skip
    complete = {"step_count": 5, "language_selected": "uz", "currency_selected": "UZS"}
    complete["start_capital_amount"] = 5_000_000  # numeric, as the direct step sends it
    done = f.expect("onboarding_complete", "derived", ts, {"telegram_id": U1}, **app,
                    **f.u1(ts, own_ip_ua=True, raw=raw, custom=complete,
                           hashed={"external_id": {U1}, "fn": {"ali"}, "ln": {"valiyev"},
                                   "ph": {PHONE_NORMAL}}))  # fmt: skip
    assert [d["event_id"] for d in results[1]["derived"]] == [done]
    f.settle()
    backfill = item("onboarding_complete", ts, U1, properties={"language_selected": "uz"})
    f.duplicate("onboarding_complete derived, then backfilled", done, f.bot(backfill))


def first_days(f: Funnel) -> None:
    """U2 starts onboarding and leaves; U1 logs a first expense, opens and leaves a checkout,
    pays, changes plan; the landing page reports a drop-off."""
    ts = f.at(600)
    onb = {"context": {"session_id": "onb-U2"}}
    f.bot(step(ts, U2, "language", "ru", **onb))
    ts = f.at(660)
    f.bot(step(ts, U2, "name", "Bobur", **onb))
    f.expect("drop_off", "tick", ts, {"session_id": "onb-U2"}, action_source="chat",
             custom={"step_at_exit": "onboarding_phone", "reason": "timeout",
                     "session_duration": 60}, hashed={"external_id": {U2}})  # fmt: skip
    ts = f.at(700)
    android = {"user": mini_user(ANDROID_UA), "context": {"platform": "android"}}
    expense = {"entry_mode": "voice", "amount": 25000, "category": "food", "currency": "UZS"}
    f.mini(activity("expense_logged", ts, U1, properties=expense, **android))
    entry = {"entry_mode": "voice", "amount": 25000, "category_assigned": "food", "currency": "UZS"}
    raw = {"client_ip_address": MINI_IP, "client_user_agent": ANDROID_UA}
    app = {"action_source": "app", "os": "a2", "os_version": "14"}
    first = f.expect("first_entry", "derived", ts, {"telegram_id": U1}, **app,
                     **f.u1(ts, own_ip_ua=True, raw=raw, custom=entry,
                            hashed={"external_id": {U1}}))  # fmt: skip
    f.settle()
    backfill = item("first_entry", ts, U1, properties=entry)
    f.duplicate("first_entry derived, then backfilled", first, f.bot(backfill))
    ts = f.at(800)
    checkout = activity("checkout_started", ts, U1, properties={"step": "plan_select"},
                        context={"session_id": "chk-U1"})  # fmt: skip
    f.bot(checkout)
    f.expect("drop_off", "tick", ts, {"session_id": "chk-U1"}, action_source="chat",
             **f.u1(ts, custom={"step_at_exit": "checkout_plan_select", "reason": "timeout",
                                "session_duration": 0}, hashed={"external_id": {U1}}))  # fmt: skip
    ts = f.at(900)
    left = {"step_at_exit": "lp_pricing", "reason": "closed_tab", "session_duration": 95}
    context = {"page_url": f"{ORIGIN}/pricing", "session_id": f"{SESSION}-exit"}
    web = {"event": "drop_off", "event_time": ts, "properties": left, "context": context}
    f.live.browser(web, ip=LANDING_IP, user_agent=LANDING_UA, cookies={"_fbp": FBP, "_fbc": FBC})
    f.expect("drop_off", "website", ts, {"session_id": f"{SESSION}-exit"},
             action_source="website", custom=left, raw={**LANDING_RAW, "fbc": FBC, "fbp": FBP},
             url=f"{ORIGIN}/pricing")  # fmt: skip
    billing_start(f)


def billing_start(f: Funnel) -> None:
    """The billing backend's first charge and a downgrade."""
    ts = f.at(1000)
    answer = f.live.webhook(payment("pay_1001", ts, 49000, "monthly", email=EMAIL,
                                    payment_method="card", billing_cycle_day=22))  # fmt: skip
    assert answer["outcome"] == "subscribe", answer
    sub = {"value": 49000, "currency": "UZS", "subscription_plan": "monthly"}
    sub |= {"payment_method": "card", "billing_cycle_day": 22, "transaction_id": "pay_1001"}
    f.expect("subscribe", "webhook", ts, {"transaction_id": "pay_1001"}, action_source="chat",
             **f.u1(ts, custom=sub, hashed={"external_id": {U1}, "em": {EMAIL_NORMAL}},
                    extra_custom={"is_renewal": False, **UTMS}))  # fmt: skip
    ts = f.at(1100)
    answer = f.live.webhook(payment("pay_1002", ts, 15000, "weekly"))
    assert answer["outcome"] == "plan_change", answer
    change = {"old_plan": "monthly", "new_plan": "weekly", "value_diff": -34000, "currency": "UZS"}
    f.expect("plan_change", "webhook", ts, {"transaction_id": "pay_1002"}, action_source="chat",
             **f.u1(ts, custom=change, hashed={"external_id": {U1}}))  # fmt: skip


def payment(txn: str, ts: int, amount: int, plan: str, *, email: str | None = None,
            **extra: Any) -> dict[str, Any]:  # fmt: skip
    """A billing webhook body: a successful charge of ``amount`` sum for U1."""
    user = {"telegram_id": U1, **({"email": email} if email else {})}
    return {"type": "payment.succeeded", "id": txn, "amount": amount, "currency": "UZS",
            "plan": plan, "time": ts, "user": user, **extra}  # fmt: skip


def atmos(f: Funnel) -> None:
    """U3 pays through Atmos: the merchant forwards the approved callback (tiyin, MD5 sign)."""
    ts = f.at(1300)
    callback = {"store_id": "7453", "transaction_id": 48151623, "invoice": f"sub-{U3}-1",
                "amount": 4_900_000, "transaction_time": "2025-11-22 13:21:40"}  # fmt: skip
    signed = "".join(str(callback[k]) for k in ("store_id", "transaction_id", "invoice", "amount"))
    callback["sign"] = hashlib.md5((signed + ATMOS_CALLBACK_KEY).encode()).hexdigest()
    body = {"callback": callback, "user": {"telegram_id": U3}, "plan": "monthly",
            "payment_method": "uzcard"}  # fmt: skip
    assert f.live.webhook(body, "atmos")["outcome"] == "subscribe"
    sub = {"value": 49000, "currency": "UZS", "subscription_plan": "monthly"}
    sub |= {"payment_method": "uzcard", "transaction_id": "48151623"}
    f.expect("subscribe", "webhook", ts, {"transaction_id": "48151623"}, action_source="chat",
             custom=sub, hashed={"external_id": {U3}},
             extra_custom={"is_renewal": False})  # fmt: skip


def backfilled_first(f: Funnel) -> None:
    """U3's bot backfills First_Entry, CompleteRegistration and a Drop_Off before the activity
    that would derive them; the activity then derives none of them again."""
    ts = f.at(1400)
    f.bot(activity("bot_message", ts, U3))
    entry = {"entry_mode": "text", "amount": 12000, "category_assigned": "transport"}
    entry["currency"] = "UZS"
    seed_style = {"language_selected": "ru", "user_name": "Dilnoza Karimova",
                  "phone_number": "+998 93 765 43 21", "currency_selected": "USD",
                  "start_capital_amount": 1000}  # fmt: skip
    left = {"step_at_exit": "checkout_payment", "reason": "card_declined", "session_duration": 45}
    f.bot(
        item("first_entry", ts, U3, properties=entry),
        item("onboarding_complete", ts, U3, properties=seed_style),
        item("drop_off", ts, U3, properties=left, context={"session_id": "chk-U3"}),
    )
    u3 = {"action_source": "chat", "hashed": {"external_id": {U3}}}
    first = f.expect("first_entry", "backfill", ts, {"telegram_id": U3}, custom=entry, **u3)
    complete = {"step_count": 5, "language_selected": "ru", "currency_selected": "USD",
                "start_capital_amount": 1000}  # fmt: skip
    pii = {"external_id": {U3}, "fn": {"dilnoza"}, "ln": {"karimova"}, "ph": {"998937654321"}}
    done = f.expect("onboarding_complete", "backfill", ts, {"telegram_id": U3},
                    action_source="chat", custom=complete, hashed=pii)  # fmt: skip
    drop = f.expect("drop_off", "backfill", ts, {"session_id": "chk-U3"}, custom=left, **u3)
    ts = f.at(1460)
    expense = activity("expense_logged", ts, U3, properties={"amount": 9000, "category": "taxi"})
    f.not_derived("first_entry backfilled, then derived", first, f.bot(expense))
    steps = [("language", "ru"), ("name", "Dilnoza Karimova"), ("phone", "+998 93 765 43 21"),
             ("currency", "USD"), ("capital", "1000")]  # fmt: skip
    results = f.bot(*(step(ts, U3, name, value) for name, value in steps))
    f.not_derived("onboarding_complete backfilled, then derived", done, results)
    checkout = activity("checkout_started", ts, U3, properties={"step": "payment"},
                        context={"session_id": "chk-U3"})  # fmt: skip
    f.bot(checkout)
    ts = f.at(3400)  # 30 minutes idle: the tick derives the drop-offs
    f.timeouts_passed()
    f.settle()
    f.dedups.append(Dedup("drop_off backfilled, then derived", drop, TICK))
    for session, user in (("chk-U1", U1), ("onb-U2", U2)):
        again = item("drop_off", ts, user, properties={"reason": "timeout"},
                     context={"session_id": session})  # fmt: skip
        derived = SEED["drop_off"].event_id.format(session_id=session)
        f.duplicate("drop_off derived, then backfilled", derived, f.bot(again))


def day_one(f: Funnel) -> None:
    """U1 opens the mini app the next day (AppLaunch, 7d_Return); U3's bot backfills its
    7d_Return, and U3's return on day 4 derives only an AppLaunch."""
    ts = f.at(DAY + HOUR)
    android = {"user": mini_user(ANDROID_UA), "context": {"platform": "android",
                                                          "session_id": "ma-U1-1"}}  # fmt: skip
    f.mini(activity("app_opened", ts, U1, properties={"app_version": "2.4.0"}, **android))
    raw = {"client_ip_address": MINI_IP, "client_user_agent": ANDROID_UA}
    app = {"action_source": "app", "os": "a2", "os_version": "14"}
    launch = f.expect("app_open", "derived", ts, {"user_id": U1, "ts": ts}, **app,
                      **f.u1(ts, own_ip_ua=True, raw=raw,
                             custom={"session_id": "ma-U1-1", "app_version": "2.4.0"},
                             hashed={"external_id": {U1}}))  # fmt: skip
    back = f.expect("return_7d", "derived", ts, {"telegram_id": U1}, **app,
                    **f.u1(ts, own_ip_ua=True, raw=raw,
                           custom={"days_since_start": 1, "entries_count": 1},
                           hashed={"external_id": {U1}}))  # fmt: skip
    f.settle()
    again = item("app_open", ts, U1, properties={"app_version": "2.4.0"},
                 context={"session_id": "ma-U1-1"})  # fmt: skip
    f.duplicate("app_open derived, then backfilled", launch, f.bot(again))
    again = item("return_7d", ts, U1, properties={"days_since_start": 1, "entries_count": 1})
    f.duplicate("return_7d derived, then backfilled", back, f.bot(again))
    returned = {"days_since_start": 1, "entries_count": 0}
    f.bot(item("return_7d", ts, U3, properties=returned))
    back3 = f.expect("return_7d", "backfill", ts, {"telegram_id": U3}, action_source="chat",
                     custom=returned, hashed={"external_id": {U3}})  # fmt: skip
    ts = f.at(4 * DAY + HOUR)
    results = f.bot(activity("bot_message", ts, U3))
    f.not_derived("return_7d backfilled, then derived", back3, results)
    f.expect("app_open", "derived", ts, {"user_id": U3, "ts": ts}, action_source="chat",
             custom={}, hashed={"external_id": {U3}})  # fmt: skip


def year(f: Funnel) -> None:
    """U1 comes back in every retention window (and cancels on day 14, comes back paying on
    day 30); U3's bot backfills each milestone, and U3's return 3 days later derives none."""
    for days in RETENTION_DAYS:
        key = f"retention_{days}d"
        ts = f.at(days * DAY + HOUR)
        f.bot(activity("bot_message", ts, U1))
        hashed = {"external_id": {U1}}
        f.expect("app_open", "derived", ts, {"user_id": U1, "ts": ts}, action_source="chat",
                 **f.u1(ts, custom={}, hashed=hashed))  # fmt: skip
        kept = f.expect(key, "derived", ts, {"user_id": U1}, action_source="chat",
                        **f.u1(ts, custom={"days_active": days}, hashed=hashed))  # fmt: skip
        f.settle()
        f.duplicate(f"{key} derived, then backfilled", kept, f.bot(item(key, ts, U1)))
        f.bot(item(key, ts, U3))
        backfilled = f.expect(
            key,
            "backfill",
            ts,
            {"user_id": U3},
            action_source="chat",
            custom={"days_active": days},
            hashed={"external_id": {U3}},
        )
        billing_later(f, days)
        ts = f.at((days + 3) * DAY + HOUR)
        results = f.bot(activity("bot_message", ts, U3))
        f.not_derived(f"{key} backfilled, then derived", backfilled, results)
        f.expect("app_open", "derived", ts, {"user_id": U3, "ts": ts}, action_source="chat",
                 custom={}, hashed={"external_id": {U3}})  # fmt: skip
    f.settle()


def billing_later(f: Funnel, days: int) -> None:
    """Day 14: U1 cancels; day 30: U1 pays again with a discount (a reactivation)."""
    if days == 14:
        ts = f.at(days * DAY + HOUR + MINUTE)
        cancel = {"type": "subscription.canceled", "id": "cx_1003", "reason": "too_expensive",
                  "time": ts, "user": {"telegram_id": U1}}  # fmt: skip
        assert f.live.webhook(cancel)["outcome"] == "cancel"
        gone = {"subscription_plan": "weekly", "reason": "too_expensive", "days_active": 14}
        f.expect(
            "cancel_subscription",
            "webhook",
            ts,
            {"transaction_id": "cx_1003"},
            action_source="chat",
            **f.u1(ts, custom=gone, hashed={"external_id": {U1}}),
        )
    elif days == 30:
        ts = f.at(days * DAY + HOUR + MINUTE)
        body = payment("pay_1004", ts, 15000, "weekly", discount_code="COMEBACK20")
        assert f.live.webhook(body)["outcome"] == "reactivate"
        back = {"subscription_plan": "weekly", "discount_code": "COMEBACK20", "currency": "UZS"}
        back["value"] = 15000
        f.expect(
            "reactivate_subscription",
            "webhook",
            ts,
            {"transaction_id": "pay_1004"},
            action_source="chat",
            **f.u1(ts, custom=back, hashed={"external_id": {U1}}),
        )


@pytest.fixture(scope="module")
def funnel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """A year of seed 000's funnel through one live gateway; what Meta received."""
    clock = FrozenClock(T0)
    with live_gateway(tmp_path_factory.mktemp("seed000"), clock) as live:
        f = Funnel(live)
        stages = (landing, start_and_onboarding, first_days, atmos, backfilled_first, day_one, year)
        for stage in stages:
            stage(f)
        f.settle()
        yield Outcome(f.expected, f.dedups, live.received(), live.requests(), live.stored())


# --- the checks -----------------------------------------------------------------------------


def test_the_default_plan_is_the_seed_table() -> None:
    """Every seed row is a plan key with the seed's Meta name and event_id template."""
    plan = default_plan()
    assert list(plan.events) == list(PLAN_KEYS)
    for key, row in SEED.items():
        assert (plan.events[key].event_name, plan.events[key].event_id) == (
            row.event_name,
            row.event_id,
        ), key


@pytest.mark.parametrize("key", PLAN_KEYS)
def test_seed_row_reaches_meta_as_the_seed_says(funnel: Outcome, key: str) -> None:
    """Each event of the row arrived once with the seed's name, id, custom_data and user_data."""
    mine = [e for e in funnel.expected if e.key == key]
    assert mine, f"the funnel sent no {key}"
    by_id = {e["event_id"]: e for e in funnel.received}
    for expected in mine:
        assert expected.event_id in by_id, f"{key} ({expected.how}): {expected.event_id} missing"
        check_received(expected, by_id[expected.event_id])


def test_meta_rejected_nothing(funnel: Outcome) -> None:
    """Every Graph request was answered 200, without an error or a warning."""
    assert funnel.requests
    bad = [r for r in funnel.requests if r["status"] != 200 or r["error"] or r["warnings"]]
    assert bad == []


def test_every_event_arrives_once_and_no_other(funnel: Outcome) -> None:
    """Meta received exactly the expected event_ids, each once, none flagged as a duplicate."""
    counts = Counter(e["event_id"] for e in funnel.received)
    assert {i for i, n in counts.items() if n > 1} == set()
    assert set(counts) == {e.event_id for e in funnel.expected}
    assert not [e["event_id"] for e in funnel.received if e["deduplicated"]]


def test_derived_and_backfilled_copies_are_one_event(funnel: Outcome) -> None:
    """A backfill of a derived event is a duplicate; a backfilled event is not derived again."""
    covered = {d.label for d in funnel.dedups}
    for key in DERIVED_KEYS:
        assert f"{key} derived, then backfilled" in covered, key
        if key != "app_open":  # not once-only: a later activity is a new session
            assert f"{key} backfilled, then derived" in covered, key
    counts = Counter(e["event_id"] for e in funnel.received)
    stored = Counter(e.event_id for e in funnel.stored)
    for dedup in funnel.dedups:
        assert counts[dedup.event_id] == stored[dedup.event_id] == 1, dedup
        if dedup.answer == TICK:
            (kept,) = [e for e in funnel.stored if e.event_id == dedup.event_id]
            assert kept.source == "bot", dedup  # the backfill, not the tick's copy
        else:
            assert dedup.answer in ("duplicate", "not derived"), dedup


def test_every_stored_event_was_delivered(funnel: Outcome) -> None:
    """The outbox holds each expected event once, delivered; nothing dead or expired."""
    statuses = Counter(e.status for e in funnel.stored)
    assert set(statuses) == {"delivered"}, statuses
    assert sorted(e.event_id for e in funnel.stored) == sorted(e.event_id for e in funnel.expected)


def test_a_timed_out_drop_off_carries_the_linked_users_landing_keys(funnel: Outcome) -> None:
    """U1's checkout Drop_Off (tick) has the fbc and fbp of U1's First_Entry 100 s earlier."""
    by_id = {e["event_id"]: e for e in funnel.received}
    assert by_id[f"firstentry_{U1}"]["user_data"]["fbc"] == FBC  # activity-derived: stitched
    dropped = by_id["dropoff_chk-U1"]["user_data"]
    assert (dropped.get("fbc"), dropped.get("fbp")) == (FBC, FBP)
