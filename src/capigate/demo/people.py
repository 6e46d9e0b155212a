"""The simulated users: who they are, which device they use and how they found the product.

Every value is made up from the seed. Addresses come from the ranges reserved for
documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32), so no
simulated visitor can be mistaken for a real one. Phones are Uzbek mobile numbers written the
ways people type them; names mix Uzbek Latin and Russian Cyrillic spellings, as the seed's
users do. The demo sends these raw values; the gateway hashes them before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from capigate.attribution import new_token
from capigate.demo.draw import Rng, chance, digits, pick, token

TELEGRAM_ID_BASE = 5_000_000_000  # ids of recent Telegram accounts; each user gets its own
AD_CLICK_SHARE = 0.8  # visitors who arrive from a Meta ad (their page URL carries fbclid)
DIRECT_TO_BOT_SHARE = 0.1  # users who find the bot without the landing page
LINK_TOKEN_BYTES = 16
LANDING_URL = "https://example.com/budget"
ORIGIN = "https://example.com"

FIRST_NAMES = (
    "Aziz", "Dilnoza", "Jasur", "Malika", "Sardor", "Nodira", "Oʻtkir", "Gʻayrat", "Kamila",
    "Bekzod", "Shahnoza", "Timur", "Анна", "Дмитрий", "Ольга", "Сергей", "Zoë", "Ümit",
)  # fmt: skip
LAST_NAMES = (
    "Karimov", "Yusupova", "Rashidov", "Tosheva", "Aliyev", "Saidova", "Ergashev",
    "Иванов", "Петрова", "Ким", "Mirzayev", "Xoʻjayeva",
)  # fmt: skip
MOBILE_PREFIXES = ("90", "91", "93", "94", "95", "97", "98", "99", "33", "88")
USER_AGENTS = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36 Telegram-Android/11.4.2",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
)
CAMPAIGNS = ("budget_nov", "expenses_uz", "savings_ru")
DOC_IPV4_NETS = ("192.0.2", "198.51.100", "203.0.113")


@dataclass(frozen=True, slots=True)
class Person:
    """One simulated user and the browser they first came with."""

    index: int
    telegram_id: int
    first_name: str
    last_name: str
    phone: str
    language: str
    currency: str
    capital: int
    ip: str
    user_agent: str
    browser_id: int  # the random part of the Pixel's _fbp cookie
    fbclid: str | None  # set when the visit came from a Meta ad
    utms: tuple[tuple[str, str], ...]
    landing_token: str  # what the landing page puts in t.me/<bot>?start=<token>
    session_id: str
    direct_to_bot: bool  # never saw the landing page

    @property
    def page_url(self) -> str:
        """The landing page's address as the visitor opened it."""
        query = [*(f"{k}={v}" for k, v in self.utms), *self._click()]
        return f"{LANDING_URL}?{'&'.join(query)}" if query else LANDING_URL

    def _click(self) -> list[str]:
        return [f"fbclid={self.fbclid}"] if self.fbclid else []


def make_person(rng: Rng, index: int) -> Person:
    """The ``index``-th user, drawn from ``rng``."""
    from_ad = chance(rng, AD_CLICK_SHARE)
    language = pick(rng, ("uz", "uz", "ru", "en"))
    return Person(
        index=index,
        telegram_id=TELEGRAM_ID_BASE + index * 1_000 + rng.randrange(1_000),
        first_name=pick(rng, FIRST_NAMES),
        last_name=pick(rng, LAST_NAMES),
        phone=phone(rng),
        language=language,
        currency="USD" if chance(rng, 0.2) else "UZS",
        capital=rng.randrange(1, 200) * 100_000,
        ip=ip_address(rng),
        user_agent=pick(rng, USER_AGENTS),
        browser_id=rng.randrange(10**9, 10**10),
        fbclid=f"IwAR{token(rng, 56)}" if from_ad else None,
        utms=_utms(rng, from_ad),
        landing_token=new_token(rng.getrandbits(8 * LINK_TOKEN_BYTES).to_bytes(16, "big")),
        session_id=f"s-{token(rng, 12)}",
        direct_to_bot=chance(rng, DIRECT_TO_BOT_SHARE),
    )


def phone(rng: Rng) -> str:
    """An Uzbek mobile number, written as a user might type or share it."""
    prefix, number = pick(rng, MOBILE_PREFIXES), digits(rng, 7)
    spaced = f"{prefix} {number[:3]} {number[3:5]} {number[5:]}"
    return pick(rng, (f"+998 {spaced}", spaced, f"998{prefix}{number}", f"+998{prefix}{number}"))


def ip_address(rng: Rng) -> str:
    """A documentation address: IPv6 for most mobile users, IPv4 for the rest."""
    if chance(rng, 0.6):
        groups = ":".join(f"{rng.randrange(0x10000):x}" for _ in range(6))
        return f"2001:db8:{groups}"
    return f"{pick(rng, DOC_IPV4_NETS)}.{rng.randrange(1, 255)}"


def _utms(rng: Rng, from_ad: bool) -> tuple[tuple[str, str], ...]:
    if from_ad:
        campaign = pick(rng, CAMPAIGNS)
        return (
            ("utm_source", "facebook"),
            ("utm_medium", "paid_social"),
            ("utm_campaign", campaign),
            ("utm_content", f"ad{rng.randrange(1, 4)}"),
        )
    if chance(rng, 0.5):
        return (("utm_source", "instagram"), ("utm_medium", "bio"))
    return ()
