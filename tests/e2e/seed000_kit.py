"""Seed 000 end to end: the seed's table, a live gateway, and a client for each of its sources.

``SEED`` restates seed 000 ("Meta CAPI events and parameters we'll send") row by row as the
default plan resolves its conflicts (DESIGN.md "Seed conflicts"): the Meta name, the action
source the seed wants, the ``custom_data`` fields (raw ``phone_number``/``user_name`` moved to
hashed user_data) and the event_id template. It is written by hand from the seed, not read from
the plan, so that a plan that drifts from the seed fails the test.

``live_gateway`` runs the real app (``capigate.web.create_app``: sandbox mode, the emulator
mounted at ``/__emulator__``, the delivery worker and lifecycle tick in-process) under uvicorn
on a free loopback port, on a SQLite file, with a ``FrozenClock`` the test moves. The gateway,
its worker, its store and its emulator all read that clock, so a simulated year takes seconds.

``check_received`` compares an event as the emulator recorded it with an ``Expected`` one:
name, time, action source (and app_data), custom_data, and user_data, whose hashes it
recomputes with hashlib from values the test normalized by hand.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from capigate.clock import FrozenClock
from capigate.settings import load
from capigate.store import StoredEvent, open_store
from capigate.web.app import create_app
from capigate.webhooks.signature import SIGNATURE_HEADER, sign

T0 = 1_763_800_000.0  # the funnel's first moment on the gateway's clock
MINUTE = 60.0
HOUR = 3_600.0
DAY = 86_400.0
SETTLE_TIMEOUT_S = 15.0  # real seconds to wait for the worker to deliver what was sent
STARTUP_TIMEOUT_S = 15.0
POLL_S = 0.01

BOT_KEY = "sk_seed000_bot_0123456789abcdef"
MINI_KEY = "sk_seed000_mini_0123456789abcdef"
WEB_KEY = "pk_seed000_web_0123456789abcdef"
BILLING_SECRET = "whsec_seed000_0123456789abcdef"
ATMOS_SECRET = "whsec_seed000_atmos_0123456789ab"
ATMOS_CALLBACK_KEY = "atmos_seed000_callback_key"
ORIGIN = "https://lp.example.uz"
INGEST = "/api/marketing/meta"

CONFIG = f"""
trusted_proxies: [127.0.0.1/32]
sources:
  - {{name: web, kind: browser, key: {WEB_KEY}, origins: ["{ORIGIN}"]}}
  - {{name: bot, kind: server, channel: bot, key_env: SEED_BOT_KEY}}
  - {{name: mini, kind: server, channel: mini_app, key_env: SEED_MINI_KEY}}
worker:
  flush_interval_s: 0
  poll_interval_s: 0.02
"""

UTM = frozenset({"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"})
HASHED = frozenset({"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id"})
RAW = frozenset({"client_ip_address", "client_user_agent", "fbc", "fbp"})
HEX64 = re.compile(r"[0-9a-f]{64}")
SEED_PII = frozenset({"phone_number", "user_name"})  # seed custom_data that is user_data now
EXTINFO_SLOTS = 16


@dataclass(frozen=True, slots=True)
class SeedRow:
    """One row of seed 000 as the plan resolves it."""

    event_name: str
    action_source: str  # what the seed writes: website, app, or website/app
    custom_data: frozenset[str]  # "custom_data we send", PII moved to user_data
    event_id: str  # the seed's template


def _row(name: str, source: str, custom: Iterable[str], template: str) -> SeedRow:
    return SeedRow(name, source, frozenset(custom), template)


_REG = "CompleteRegistration"
RETENTION = {14: "14d_Return", 30: "1m_Return", 60: "2m_Return", 90: "3m_Return"}
RETENTION |= {180: "6m_Return", 365: "12m_Return"}  # day -> the seed's event name
SEED: Mapping[str, SeedRow] = {
    "landing_view": _row("ViewContent", "website", UTM, "viewcontent_{session_id}"),
    "cta_click": _row("Lead", "website", {"button_id", *UTM}, "cta_{session_id}"),
    "start_bot": _row(
        "Start_Bot", "app", {"language", "currency_pref", *UTM}, "startbot_{telegram_id}"
    ),
    "first_entry": _row(
        "First_Entry",
        "app",
        {"entry_mode", "amount", "category_assigned", "currency"},
        "firstentry_{telegram_id}",
    ),
    "subscribe": _row(
        "Subscribe",
        "app",
        {"currency", "value", "subscription_plan", "payment_method", "billing_cycle_day"}
        | {"transaction_id"},
        "sub_{transaction_id}",
    ),
    "cancel_subscription": _row(
        "Unsubscribe",
        "app",
        {"subscription_plan", "reason", "days_active"},
        "cancel_{transaction_id}",
    ),
    "reactivate_subscription": _row(
        "Reactivate_Sub",
        "app",
        {"subscription_plan", "discount_code", "currency", "value"},
        "reactivate_{transaction_id}",
    ),
    "plan_change": _row(
        "Plan_Change",
        "app",
        {"old_plan", "new_plan", "value_diff", "currency"},
        "planchange_{transaction_id}",
    ),
    "drop_off": _row(
        "Drop_Off",
        "website/app",
        {"step_at_exit", "reason", "session_duration"},
        "dropoff_{session_id}",
    ),
    "onboarding_language": _row(
        _REG, "app", {"status", "language_selected"}, "onboard_lang_{user_id}_{ts}"
    ),
    "onboarding_name": _row(_REG, "app", {"status"}, "onboard_name_{user_id}_{ts}"),
    "onboarding_phone": _row(_REG, "app", {"status"}, "onboard_phone_{user_id}_{ts}"),
    "onboarding_currency": _row(
        _REG, "app", {"status", "currency_selected"}, "onboard_currency_{user_id}_{ts}"
    ),
    "onboarding_capital": _row(
        _REG, "app", {"status", "start_capital_amount"}, "onboard_capital_{user_id}_{ts}"
    ),
    "onboarding_complete": _row(
        _REG,
        "app",
        {"step_count", "language_selected", "currency_selected", "start_capital_amount"},
        "onboarding_{telegram_id}",
    ),
    "app_open": _row("AppLaunch", "app", {"session_id", "app_version"}, "session_{user_id}_{ts}"),
    "return_7d": _row(
        "7d_Return", "app", {"days_since_start", "entries_count"}, "ret7_{telegram_id}"
    ),
    **{
        f"retention_{days}d": _row(name, "app", {"days_active"}, f"retention{days}_{{user_id}}")
        for days, name in RETENTION.items()
    },
}
PLAN_KEYS = tuple(SEED)
RETENTION_DAYS = tuple(RETENTION)


def sha(normalized: str) -> str:
    """Lowercase hex SHA-256 of an already normalized value (normalized by hand in the test)."""
    return hashlib.sha256(normalized.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Expected:
    """One event Meta must receive, as the seed row ``key`` says, and how it was driven."""

    key: str
    event_id: str
    action_source: str  # as the plan resolves it: website, app (with app_data) or chat
    how: str  # who sent it: website, bot, mini_app, webhook, derived (activity), tick, backfill
    event_time: int
    custom: Mapping[str, Any]  # custom_data values that must be there exactly
    hashed: Mapping[str, frozenset[str]]  # user_data key -> normalized plain values sent
    raw: Mapping[str, str] = field(default_factory=dict)  # raw user_data that must be there
    allowed_raw: Mapping[str, str] = field(default_factory=dict)  # may be there, with this value
    extra_custom: Mapping[str, Any] = field(default_factory=dict)  # may be there, this value
    url: str | None = None  # event_source_url (website events)
    os: str | None = None  # app_data: extinfo[0] (a2/i2), checked with os_version
    os_version: str | None = None

    @property
    def seed(self) -> SeedRow:
        return SEED[self.key]


def check_received(expected: Expected, got: dict[str, Any]) -> None:
    """Assert that ``got`` (an event as Meta received it) is what ``expected`` says."""
    where = f"{expected.key} {expected.event_id} ({expected.how})"
    row = expected.seed
    assert got["event_name"] == row.event_name, where
    assert got["event_time"] == expected.event_time, where
    check_action_source(expected, got, where)
    custom = got.get("custom_data", {})
    assert not SEED_PII & set(custom), f"{where}: raw PII in custom_data"
    for name, value in expected.custom.items():
        assert name in row.custom_data, f"{where}: the test expects {name}, not a seed field"
        assert custom.get(name) == value, f"{where}: custom_data.{name} = {custom.get(name)!r}"
    for name, value in custom.items():
        if name not in expected.custom:
            assert name in expected.extra_custom, f"{where}: unexpected custom_data.{name}"
            assert value == expected.extra_custom[name], f"{where}: custom_data.{name}"
    check_user_data(expected, got["user_data"], where)


def check_action_source(expected: Expected, got: dict[str, Any], where: str) -> None:
    source = got["action_source"]
    assert source == expected.action_source, f"{where}: action_source {source}"
    assert source in expected.seed.action_source.split("/") or (
        source == "chat" and expected.seed.action_source.endswith("app")
    ), f"{where}: {source} is neither the seed's source nor the plan's chat fallback"
    if source == "website":
        assert got.get("event_source_url") == expected.url, where
    else:
        assert "event_source_url" not in got, where
    if source != "app":
        assert "app_data" not in got, where
        return
    app_data = got["app_data"]
    extinfo = app_data["extinfo"]
    assert app_data["advertiser_tracking_enabled"] in (0, 1), where
    assert len(extinfo) == EXTINFO_SLOTS, where
    assert (extinfo[0], extinfo[4]) == (expected.os, expected.os_version), where


def check_user_data(expected: Expected, user_data: dict[str, Any], where: str) -> None:
    assert set(user_data) <= HASHED | RAW, f"{where}: {sorted(set(user_data) - HASHED - RAW)}"
    hashed = {k for k in user_data if k in HASHED}
    assert hashed == set(expected.hashed), f"{where}: hashed keys {sorted(hashed)}"
    for name, plain in expected.hashed.items():
        sent = user_data[name] if isinstance(user_data[name], list) else [user_data[name]]
        assert all(HEX64.fullmatch(v) for v in sent), f"{where}: {name} is not SHA-256 hex"
        assert set(sent) == {sha(p) for p in plain}, f"{where}: {name} hashes other values"
    for name, value in expected.raw.items():
        assert user_data.get(name) == value, f"{where}: {name} = {user_data.get(name)!r}"
    for name in (RAW & set(user_data)) - set(expected.raw):
        allowed = expected.allowed_raw.get(name)
        assert user_data[name] == allowed, f"{where}: unexpected {name} = {user_data[name]!r}"


@dataclass
class Live:
    """A running gateway: its URL, the clock it reads, and a client for each kind of source."""

    url: str
    clock: FrozenClock
    db_url: str
    http: httpx.Client

    def now(self) -> int:
        return int(self.clock())

    def browser(
        self,
        item: dict[str, Any],
        *,
        ip: str,
        user_agent: str,
        cookies: Mapping[str, str] | None = None,
        beacon: bool = False,
    ) -> dict[str, Any]:
        """POST as the landing page does, through the site's proxy: Origin, UA, XFF, cookies.

        ``beacon`` sends like capigate.js's sendBeacon (key in the query, text/plain body).
        """
        headers = {"Origin": ORIGIN, "User-Agent": user_agent, "X-Forwarded-For": ip}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        params = {}
        if beacon:
            headers["Content-Type"] = "text/plain;charset=UTF-8"
            params["key"] = WEB_KEY
        else:
            headers["X-Capigate-Key"] = WEB_KEY
            headers["Content-Type"] = "application/json"
        response = self.http.post(
            INGEST, content=orjson.dumps(item), headers=headers, params=params
        )
        return _accepted(response)

    def server(self, key: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
        """POST items (one, or a batch) with a server key; the per-item results."""
        body = items[0] if len(items) == 1 else {"batch": list(items)}
        headers = {"Authorization": f"Bearer {key}"}
        results: list[dict[str, Any]] = _accepted(
            self.http.post(INGEST, json=body, headers=headers)
        )["results"]
        return results

    def webhook(self, payload: dict[str, Any], provider: str = "billing") -> dict[str, Any]:
        """POST a webhook of ``provider`` (billing, atmos), signed now on the gateway's clock."""
        raw = orjson.dumps(payload)
        secret = {"billing": BILLING_SECRET, "atmos": ATMOS_SECRET}[provider]
        header = sign(raw, secret.encode(), timestamp=self.now())
        response = self.http.post(
            f"/webhooks/{provider}", content=raw, headers={SIGNATURE_HEADER: header}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def received(self) -> list[dict[str, Any]]:
        """Every event the emulator recorded, as Meta received it."""
        events: list[dict[str, Any]] = self.http.get("/__emulator__/events").json()["events"]
        return events

    def requests(self) -> list[dict[str, Any]]:
        """Every Graph request the emulator answered, with its status, error and warnings."""
        entries: list[dict[str, Any]] = self.http.get("/__emulator__/requests").json()["requests"]
        return entries

    def settle(self, event_ids: Iterable[str]) -> None:
        """Wait (bounded) until Meta received ``event_ids`` and the outbox is empty."""
        wanted = set(event_ids)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            missing = wanted - {e["event_id"] for e in self.received()}
            depth = self.http.get("/readyz").json()["outbox_depth"]
            if not missing and depth == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not delivered in time: {sorted(missing)}, outbox {depth}")
            time.sleep(POLL_S)

    def stored(self) -> list[StoredEvent]:
        """Every stored event, read through a second connection to the gateway's SQLite file."""

        async def read() -> list[StoredEvent]:
            store = open_store(self.db_url)
            try:
                return await store.list_events(limit=100_000)
            finally:
                await store.close()

        return asyncio.run(read())


def _accepted(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def live_gateway(workdir: Path, clock: FrozenClock) -> Iterator[Live]:
    """The gateway app under uvicorn on a free loopback port, started and stopped with its
    lifespan (migrations, worker, lifecycle tick), on a SQLite file in ``workdir``."""
    config = workdir / "capigate.yaml"
    config.write_text(CONFIG)
    db_url = f"sqlite:///{workdir / 'gateway.db'}"
    environ = {
        "SEED_BOT_KEY": BOT_KEY,
        "SEED_MINI_KEY": MINI_KEY,
        "CAPIGATE_WEBHOOK_BILLING_SECRET": BILLING_SECRET,
        "CAPIGATE_WEBHOOK_ATMOS_SECRET": ATMOS_SECRET,
        "CAPIGATE_ATMOS_CALLBACK_KEY": ATMOS_CALLBACK_KEY,
    }
    settings = load(config_path=str(config), environ=environ, overrides={"db": db_url})
    assert settings.sandbox and settings.worker.enabled
    app = create_app(settings, clock=clock)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "gateway did not start"
            time.sleep(POLL_S)
        with httpx.Client(base_url=url, timeout=10) as http:
            yield Live(url, clock, db_url, http)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        sock.close()
