"""Core throughput: capigate vs Meta's Python SDK vs the floor, on the same 50,000 events.

    make bench-core            # or: .venv/bin/python scripts/bench_core.py [--events N]

The events are generated from a fixed seed, so every run measures the same inputs. Two
variants of the same size are measured:

* funnel: events from ``--users`` people (default: events / 5), as real traffic does: one
  person's landing visit, lead, bot start and payment share their contact fields, so caches of
  repeated values help;
* unique: every event a different person, so every per-value cache misses.

Inputs: emails, phones in several formats and countries (UZ national numbers, normalized with
default region UZ), names with accents and Cyrillic, cities, states, zips, countries, birth dates
in several formats, gender words, external ids, IPs, user agents, fbp/fbc, custom_data with
value, currency and contents, and a mix of action sources, all within the 7-day window.

Three contenders, best of ``--repeat`` rounds; every round of every contender runs in a fresh
forked process, so no cache carries over from an earlier round:

* capigate: ``capigate.pipeline.prepare`` + ``capigate.payload.dumps`` on every event (parse,
  normalize, hash, build, validate, estimate, serialize);
* sdk: ``facebook_business.adobjects.serverside`` ``UserData``/``CustomData``/``Content``/
  ``Event`` built from the same inputs, then ``event.normalize()`` (no serialization). The SDK
  raises on values it cannot normalize (e.g. country "Uzbekistan"); an untimed pass first finds
  those events, and the SDK is timed on the events it accepts only, so its time per event is
  that of a successful event;
* floor: SHA-256 of the same user_data fields + ``orjson.dumps`` of the event, the least
  work any gateway must do.

Wall-clock events/s and CPU time per event are both shown; on a shared machine the CPU time is
the steadier figure, so the targets are judged on it (the wall-clock ratios are printed too).

``--profile`` runs cProfile over the capigate path and prints the top functions by module.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import multiprocessing
import pstats
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from capigate.payload import dumps
from capigate.pipeline import PipelineOptions, prepare

SEED = 20261122
NOW_S = 1_763_800_000.0
DAY_S = 86_400
WINDOW_S = 6 * DAY_S  # every event is inside Meta's 7-day window
SDK_TARGET = 5.0  # capigate must be at least 5x the SDK's throughput
FLOOR_TARGET = 3.0  # and within 3x of the floor
CAPIGATE, SDK, FLOOR = "capigate", "facebook-business SDK", "floor (sha256 + orjson)"
EVENTS_PER_USER = 5  # a landing visit, a lead, a bot start, onboarding steps, a payment
HASHED = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id")

FIRST_NAMES = [
    "John", "Mary", "Valéry", "José", "Zoë", "Ümit", "Björn", "Александр", "Ольга", "Дмитрий",
    "Oʻtkir", "Gʻayrat", "Dilnoza", "Jasur", "Nodira", "Sardor", "Malika", "O'g'iloy", "Анна",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "O'Brien", "García", "Müller", "Иванов", "Смирнова", "Karimov", "Toʻxtayeva",
    "Yusupov", "Rahimova", "Lefèvre", "Nguyễn", "Kowalski", "Abdullayev",
]  # fmt: skip
DOMAINS = ["gmail.com", "mail.ru", "yandex.ru", "outlook.com", "example.uz", "inbox.uz"]
CITIES = [
    "Tashkent", "Toshkent", "Samarqand", "Ташкент", "São Paulo", "New York", "Zürich",
    "München", "Bukhara", "Farg'ona", "Los Angeles", "Almaty",
]  # fmt: skip
STATES = ["California", "CA", "Toshkent", "New York", "Ontario", "Bavaria", "Samarqand", "TX"]
ZIPS = ["100000", "94105-1234", "SW1A 1AA", "10115", "140100", "90210", "M5V 3L9", "00-950"]
COUNTRIES = [
    "UZ", "uz", "Uzbekistan", "Oʻzbekiston", "Узбекистан", "US", "USA", "United States", "GB",
    "Germany", "DEU", "Russia", "KZ",
]  # fmt: skip
GENDERS = ["male", "Female", "m", "F", "erkak", "ayol", "мужской", "женский", "M", "f"]
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/124.0 Mobile Safari",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari",
]
WEB_EVENTS = ["ViewContent", "Lead", "PageView", "InitiateCheckout", "Purchase"]
APP_EVENTS = ["Start_Bot", "CompleteRegistration", "First_Entry", "AppLaunch", "7d_Return"]
PAID_EVENTS = ["Subscribe", "Purchase", "Plan_Change", "Reactivate_Sub"]
SOURCES = [
    ("website", 40), ("app", 15), ("chat", 15), ("system_generated", 10), ("physical_store", 5),
    ("email", 5), ("phone_call", 5), ("business_messaging", 5),
]  # fmt: skip


def _phone(rng: random.Random) -> str:
    """A phone as people type them: UZ national and international, US, RU, UK, DE."""
    op = rng.choice(["90", "91", "93", "94", "97", "99", "33", "88"])
    a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99)
    return rng.choice(
        [
            f"{op} {a} {b} {c}",
            f"+998 {op} {a}-{b}-{c}",
            f"998{op}{a}{b}{c}",
            f"({op}) {a}{b}{c}",
            f"+1 (650) {a}-{rng.randint(1000, 9999)}",
            f"+7 903 {a}-{b}-{c}",
            f"+44 20 7946 {rng.randint(1000, 9999)}",
            f"0049 30 {a}{b}{c}",
        ]
    )


def _birth_date(rng: random.Random) -> str:
    y, m, d = rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28)
    month = ["January", "February", "March", "April", "May", "June", "July", "August"]
    return rng.choice(
        [
            f"{y}-{m:02d}-{d:02d}",
            f"{d:02d}.{m:02d}.{y}",
            f"{m}/{d}/{y}",
            f"{y}{m:02d}{d:02d}",
            f"{d} {month[m % 8]} {y}",
        ]
    )


def _email(rng: random.Random, first: str, n: int) -> str:
    local = rng.choice([f"user{n}", f"buyer.{n}", f"Client_{n}", f"{n}.shop+promo"])
    address = f"{local}@{rng.choice(DOMAINS)}"
    return rng.choice([address, address.upper(), f"  {address} ", address.title()])


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2a02:4780:{rng.randint(1, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"
    return f"{rng.choice([84, 95, 185, 213])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.1"


def _person(rng: random.Random, n: int) -> dict[str, Any]:
    """What one user's events share: contact fields (each present 70% of the time), ids and
    their browser."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    ms = int((NOW_S - rng.randint(0, 80 * DAY_S)) * 1000)
    optional: dict[str, Any] = {
        "em": _email(rng, first, n),
        "ph": _phone(rng),
        "fn": first,
        "ln": last,
        "db": _birth_date(rng),
        "ge": rng.choice(GENDERS),
        "ct": rng.choice(CITIES),
        "st": rng.choice(STATES),
        "zp": rng.choice(ZIPS),
        "country": rng.choice(COUNTRIES),
        "fbp": f"fb.1.{ms}.{rng.randint(10**9, 10**10 - 1)}",
    }
    person = {key: value for key, value in optional.items() if rng.random() < 0.7}
    person["external_id"] = rng.choice([f"user-{n}", str(10**8 + n)])
    person["client_ip_address"] = _ip(rng)
    person["client_user_agent"] = rng.choice(USER_AGENTS)
    person["madid"] = f"38400000-8cf0-11bd-b23e-{n:012d}"
    return person


def _user_data(rng: random.Random, person: dict[str, Any], source: str) -> dict[str, Any]:
    """The person's user_data for one event: sometimes a new IP or a fresh ad click."""
    user = {key: value for key, value in person.items() if key != "madid"}
    if rng.random() < 0.2:
        user["client_ip_address"] = _ip(rng)
    if rng.random() < 0.3:
        ms = int((NOW_S - rng.randint(0, WINDOW_S)) * 1000)
        user["fbc"] = f"fb.1.{ms}.IwAR{rng.randbytes(12).hex()}"
    if source == "app":
        user["madid"] = person["madid"]
    if source == "business_messaging":
        user["ctwa_clid"] = f"ARA{rng.randbytes(16).hex()}"
        user["whatsapp_business_account_id"] = "104020123456789"
    return user


def _custom_data(rng: random.Random, name: str, n: int) -> dict[str, Any] | None:
    if name not in PAID_EVENTS and name != "InitiateCheckout" and rng.random() < 0.5:
        return {"utm_source": rng.choice(["fb", "ig", "tg"]), "button_id": "open_tg"}
    quantities = [rng.randint(1, 3) for _ in range(rng.randint(1, 3))]
    items = [
        {"id": f"sku-{rng.randint(1, 500)}", "quantity": quantity, "item_price": 9.99}
        for quantity in quantities
    ]
    return {
        "value": round(sum(quantities) * 9.99, 2),
        "currency": rng.choice(["USD", "UZS", "EUR", "usd"]),
        "contents": items,
        "content_type": "product",
        "order_id": f"order-{n}",
        "subscription_plan": rng.choice(["monthly", "weekly"]),
    }


def _event(rng: random.Random, n: int, person: dict[str, Any]) -> dict[str, Any]:
    source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
    names = {"website": WEB_EVENTS, "app": APP_EVENTS, "business_messaging": ["Purchase"]}
    name = rng.choice(names.get(source, PAID_EVENTS + APP_EVENTS))
    event: dict[str, Any] = {
        "event_name": name,
        "event_time": int(NOW_S) - rng.randint(0, WINDOW_S),
        "event_id": f"{name.lower()}_{n}",
        "action_source": source,
        "user_data": _user_data(rng, person, source),
    }
    if name == "Purchase" or rng.random() < 0.6:
        event["custom_data"] = _custom_data(rng, name, n)
    if source == "website":
        event["event_source_url"] = f"https://example.com/landing?utm_source=fb&s={n}"
    elif source == "app":
        extinfo = ["i2", "com.example.app", "1.4", "1.4.2", "17.4", "iPhone15,2", "en_US", "UZT"]
        extinfo += ["Beeline", "1179", "2556", "3", "6", "128", "64", "Asia/Tashkent"]
        event["app_data"] = {"advertiser_tracking_enabled": 1, "extinfo": extinfo}
    elif source == "business_messaging":
        event["messaging_channel"] = "whatsapp"
    return event


def generate(count: int, users: int, seed: int = SEED) -> list[dict[str, Any]]:
    """``count`` events of ``users`` people, the same for the same arguments."""
    rng = random.Random(seed)
    people = [_person(rng, n) for n in range(max(1, users))]
    return [_event(rng, n, rng.choice(people)) for n in range(count)]


# --- the three contenders ---------------------------------------------------------------


Runner = Callable[[Sequence[dict[str, Any]]], int]


def run_capigate(events: Sequence[dict[str, Any]]) -> int:
    """prepare + dumps for every event; returns how many came out without an error."""
    options = PipelineOptions(default_region="UZ")
    ok = 0
    for event in events:
        prepared = prepare(event, now_s=NOW_S, options=options)
        dumps(prepared.payload)
        ok += prepared.ok
    return ok


def run_floor(events: Sequence[dict[str, Any]]) -> int:
    """SHA-256 of the hashed user_data fields and orjson.dumps of the event."""
    sha256 = hashlib.sha256
    for event in events:
        user = dict(event["user_data"])
        for key in HASHED:
            value = user.get(key)
            if value is not None:
                user[key] = sha256(value.encode()).hexdigest()
        orjson.dumps({**event, "user_data": user})
    return len(events)


def _sdk_builder() -> Callable[[dict[str, Any]], Any]:
    from facebook_business.adobjects.serverside.action_source import ActionSource
    from facebook_business.adobjects.serverside.app_data import AppData
    from facebook_business.adobjects.serverside.content import Content
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event
    from facebook_business.adobjects.serverside.extended_device_info import (
        ExtendedDeviceInfo,
    )
    from facebook_business.adobjects.serverside.gender import Gender
    from facebook_business.adobjects.serverside.messaging_channel import MessagingChannel
    from facebook_business.adobjects.serverside.user_data import UserData

    # The SDK takes a Gender enum; words it has no member for are left out.
    genders = {"male": Gender.MALE, "m": Gender.MALE, "female": Gender.FEMALE, "f": Gender.FEMALE}
    standard = {"value", "currency", "contents", "content_type", "order_id"}

    def one(key: str, user: dict[str, Any]) -> list[str] | None:
        value = user.get(key)
        return None if value is None else [value]

    def build(event: dict[str, Any]) -> Any:
        user = event["user_data"]
        gender = genders.get(str(user.get("ge", "")).lower())
        user_data = UserData(
            emails=one("em", user),
            phones=one("ph", user),
            first_names=one("fn", user),
            last_names=one("ln", user),
            dates_of_birth=one("db", user),
            genders=[gender] if gender else None,
            cities=one("ct", user),
            states=one("st", user),
            zip_codes=one("zp", user),
            country_codes=one("country", user),
            external_ids=one("external_id", user),
            client_ip_address=user.get("client_ip_address"),
            client_user_agent=user.get("client_user_agent"),
            fbc=user.get("fbc"),
            fbp=user.get("fbp"),
            madid=user.get("madid"),
            ctwa_clid=user.get("ctwa_clid"),
        )
        custom = event.get("custom_data")
        custom_data = None
        if custom is not None:
            custom_data = CustomData(
                value=custom.get("value"),
                currency=custom.get("currency"),
                content_type=custom.get("content_type"),
                order_id=custom.get("order_id"),
                contents=[
                    Content(product_id=c["id"], quantity=c["quantity"], item_price=c["item_price"])
                    for c in custom.get("contents", ())
                ]
                or None,
                custom_properties={k: v for k, v in custom.items() if k not in standard},
            )
        app = event.get("app_data")
        app_data = None
        if app is not None:
            info = app["extinfo"]
            app_data = AppData(
                advertiser_tracking_enabled=bool(app["advertiser_tracking_enabled"]),
                extinfo=ExtendedDeviceInfo(
                    ext_info_version=info[0],
                    app_package_name=info[1],
                    short_version=info[2],
                    long_version=info[3],
                    os_version=info[4],
                    device_model_name=info[5],
                    locale=info[6],
                    timezone_abbreviation=info[7],
                    carrier=info[8],
                    screen_width=int(info[9]),
                    screen_height=int(info[10]),
                    screen_density=info[11],
                    cpu_core_count=int(info[12]),
                    total_disk_space_gb=int(info[13]),
                    free_disk_space_gb=int(info[14]),
                    device_time_zone=info[15],
                ),
            )
        channel = event.get("messaging_channel")
        return Event(
            event_name=event["event_name"],
            event_time=event["event_time"],
            event_id=event["event_id"],
            event_source_url=event.get("event_source_url"),
            action_source=ActionSource(event["action_source"]),
            user_data=user_data,
            custom_data=custom_data,
            app_data=app_data,
            messaging_channel=MessagingChannel(channel) if channel else None,
        )

    return build


def sdk_accepts(events: Sequence[dict[str, Any]]) -> list[bool]:
    """For each event, whether the SDK normalizes it without raising (an untimed pass)."""
    build = _sdk_builder()
    accepted = []
    for event in events:
        try:
            build(event).normalize()
        except (TypeError, ValueError):  # e.g. "Uzbekistan" is not a country code it knows
            accepted.append(False)
        else:
            accepted.append(True)
    return accepted


def sdk_runner() -> Runner:
    """Build the SDK's objects and normalize() each event (imports done before timing)."""
    build = _sdk_builder()

    def run(events: Sequence[dict[str, Any]]) -> int:
        for event in events:
            build(event).normalize()
        return len(events)

    return run


# --- measuring ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """One contender's best round: wall-clock events/s, CPU µs per event, events timed, and
    how many of those came out right."""

    rate: float
    cpu_us: float
    timed: int
    handled: int


def _timed(run: Runner, events: Sequence[dict[str, Any]], conn: Connection) -> None:
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    handled = run(events)
    conn.send((time.perf_counter() - start, time.process_time() - start_cpu, handled))


def _fresh_process(run: Runner, events: Sequence[dict[str, Any]]) -> tuple[float, float, int]:
    """Run once in a forked child: the events are shared, no cache of an earlier round is."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_timed, args=(run, events, sender))
    child.start()
    wall_s, cpu_s, handled = receiver.recv()
    child.join()
    return wall_s, cpu_s, handled


def measure(
    runners: dict[str, tuple[Runner, Sequence[dict[str, Any]]]], repeat: int
) -> dict[str, Result]:
    """Each runner's best wall-clock and best CPU time over ``repeat`` rounds on its events.

    Rounds interleave the runners, so a noisy neighbour slows all of them alike.
    """
    wall = dict.fromkeys(runners, float("inf"))
    cpu = dict.fromkeys(runners, float("inf"))
    handled = dict.fromkeys(runners, 0)
    for _ in range(repeat):
        for name, (run, events) in runners.items():
            wall_s, cpu_s, handled[name] = _fresh_process(run, events)
            wall[name], cpu[name] = min(wall[name], wall_s), min(cpu[name], cpu_s)
    results = {}
    for name, (_, events) in runners.items():
        n = len(events)
        results[name] = Result(n / wall[name], cpu[name] / n * 1e6, n, handled[name])
    return results


def _module_of(filename: str) -> str:
    """capigate/normalize/phone.py, phonenumbers, ipaddress.py or a built-in's name."""
    if "/capigate/" in filename:
        return filename.rsplit("/src/", maxsplit=1)[-1]
    if "site-packages/" in filename:
        return filename.rsplit("site-packages/", maxsplit=1)[-1].split("/", maxsplit=1)[0]
    return filename.rsplit("/", 1)[-1]


def profile(events: list[dict[str, Any]], console: Console) -> None:
    """cProfile of the capigate path: the functions with the most own time, and time by module."""
    profiler = cProfile.Profile()
    profiler.runcall(run_capigate, events)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(25)
    console.print(stream.getvalue())
    by_module: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        module = _module_of(filename)
        by_module[module] = by_module.get(module, 0.0) + tottime
    table = Table(title="capigate own time by module (profiled)")
    table.add_column("module")
    table.add_column("seconds", justify="right")
    for module, seconds in sorted(by_module.items(), key=lambda kv: -kv[1])[:20]:
        table.add_row(module, f"{seconds:.3f}")
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events to generate")
    parser.add_argument(
        "--users",
        type=int,
        default=0,
        help="people of the funnel variant (default: events / 5, a short funnel each)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds per contender (best counts)")
    parser.add_argument("--profile", action="store_true", help="profile the capigate path")
    args = parser.parse_args(argv)
    console = Console()
    funnel_users = args.users or max(1, args.events // EVENTS_PER_USER)
    if args.profile:
        profile(generate(args.events, funnel_users), console)
        return
    sdk = sdk_runner()
    for variant, users in (("funnel", funnel_users), ("unique identities", args.events)):
        events = generate(args.events, users)
        accepted = [event for event, ok in zip(events, sdk_accepts(events), strict=True) if ok]
        runners: dict[str, tuple[Runner, Sequence[dict[str, Any]]]] = {
            CAPIGATE: (run_capigate, events),
            SDK: (sdk, accepted),
            FLOOR: (run_floor, events),
        }
        results = measure(runners, args.repeat)
        title = f"{variant}: {len(events):,} events from {users:,} people, best of {args.repeat}"
        report(results, title, len(events), console)


def report(results: dict[str, Result], title: str, count: int, console: Console) -> None:
    """The table of throughputs and the two ratios against their targets."""
    table = Table(title=title)
    columns = ("contender", "events/s", "wall µs/event", "CPU µs/event", "timed", "ok")
    for column in columns:
        table.add_column(column, justify="left" if column == "contender" else "right")
    for name, r in results.items():
        table.add_row(
            name,
            f"{r.rate:,.0f}",
            f"{1e6 / r.rate:.1f}",
            f"{r.cpu_us:.1f}",
            f"{r.timed:,}",
            f"{r.handled:,}",
        )
    console.print(table)
    ours, sdk, floor = (results[name] for name in (CAPIGATE, SDK, FLOOR))
    _verdict(
        console,
        "capigate / SDK  ",
        cpu=sdk.cpu_us / ours.cpu_us,
        wall=ours.rate / sdk.rate,
        target=SDK_TARGET,
        at_least=True,
    )
    _verdict(
        console,
        "floor / capigate",
        cpu=ours.cpu_us / floor.cpu_us,
        wall=floor.rate / ours.rate,
        target=FLOOR_TARGET,
        at_least=False,
    )
    console.print(
        f"timed = events each contender was timed on; ok = events without an error finding "
        f"(capigate) or normalized without an exception (SDK). The SDK rejected "
        f"{count - sdk.timed:,} of {count:,} events; they are left out of its time.\n"
    )


def _verdict(
    console: Console, label: str, *, cpu: float, wall: float, target: float, at_least: bool
) -> None:
    met = cpu >= target if at_least else cpu <= target
    sign = ">=" if at_least else "<="
    console.print(
        f"{label} = {cpu:.2f}x by CPU time (target {sign} {target:g}x): "
        + ("[green]met[/]" if met else "[red]missed[/]")
        + f"; {wall:.2f}x by wall-clock throughput"
    )


if __name__ == "__main__":
    main()
