"""The Store contract for landing sessions: save and merge, link once, latest link, purge."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from capigate.attribution.session import LandingSession, merged
from capigate.clock import FrozenClock
from capigate.store import Store, open_store
from tests.contract.conftest import T0

TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
OTHER = "ZyXwVuTsRqPoNmLkJiHgFe"
USER = "279058397"


def _session(token: str = TOKEN, at: float = T0, **fields: object) -> LandingSession:
    values: dict[str, object] = {
        "fbc": "fb.1.1763799990123.IwAR2F4-dbP0l7Mn1IawQQ",
        "fbp": "fb.1.1763799990000.1116446470",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0",
        "utms": {"utm_source": "fb", "utm_campaign": "spring"},
        "page_url": "https://lp.example.com/offer",
        "created_at": at,
        "seen_at": at,
    }
    values.update(fields)
    return LandingSession(token, **values)  # type: ignore[arg-type]


async def test_a_saved_session_reads_back_whole(store: Store) -> None:
    """Every field of a saved session comes back; an unknown token is None."""
    await store.save_landing_session(_session())
    assert await store.landing_session(TOKEN) == _session()
    assert await store.landing_session(OTHER) is None


async def test_an_empty_session_reads_back_empty(store: Store) -> None:
    """A session with only its token and times keeps its empty fields empty."""
    empty = LandingSession(TOKEN, created_at=T0, seen_at=T0)
    await store.save_landing_session(empty)
    assert await store.landing_session(TOKEN) == empty


async def test_a_later_report_merges_like_the_pure_rule(store: Store) -> None:
    """Saving again merges exactly as attribution.session.merged does."""
    first, later = (
        _session(),
        _session(at=T0 + 60, fbc=None, ip="198.51.100.9", utms={"utm_source": "ig"}, page_url=None),
    )
    await store.save_landing_session(first)
    await store.save_landing_session(later)
    saved = await store.landing_session(TOKEN)
    assert saved == merged(first, later)
    assert saved is not None
    assert (saved.fbc, saved.ip, saved.utms) == (first.fbc, "198.51.100.9", {"utm_source": "ig"})
    assert (saved.created_at, saved.seen_at) == (T0, T0 + 60)


async def test_a_report_without_utms_keeps_the_saved_ones(store: Store) -> None:
    """An event without UTMs (a click after the landing) does not erase the visit's UTMs."""
    await store.save_landing_session(_session())
    await store.save_landing_session(_session(at=T0 + 5, utms={}))
    saved = await store.landing_session(TOKEN)
    assert saved is not None and saved.utms == {"utm_source": "fb", "utm_campaign": "spring"}


async def test_an_out_of_order_report_keeps_the_latest_seen_at(store: Store) -> None:
    """seen_at never moves back."""
    await store.save_landing_session(_session(at=T0 + 100))
    await store.save_landing_session(_session(at=T0))
    saved = await store.landing_session(TOKEN)
    assert saved is not None and saved.seen_at == T0 + 100


async def test_link_sets_the_user_once_and_a_repeat_keeps_linked_at(store: Store) -> None:
    """The first link records its time; the same user linking again changes nothing."""
    await store.save_landing_session(_session())
    assert await store.link_telegram(TOKEN, USER, T0 + 30) is True
    assert await store.link_telegram(TOKEN, USER, T0 + 90) is True
    saved = await store.landing_session(TOKEN)
    assert saved is not None and (saved.telegram_id, saved.linked_at) == (USER, T0 + 30)


async def test_the_first_user_wins_a_token(store: Store) -> None:
    """A second user cannot take a linked token; an unknown token links nobody."""
    await store.save_landing_session(_session())
    assert await store.link_telegram(TOKEN, USER, T0 + 30)
    assert await store.link_telegram(TOKEN, "42", T0 + 31) is False
    assert await store.link_telegram(OTHER, "42", T0 + 31) is False
    assert await store.identities_for(["42"]) == {}


async def test_a_linked_session_ignores_later_reports(store: Store) -> None:
    """After the link, a report under the token (say, a leaked link) changes nothing."""
    await store.save_landing_session(_session())
    await store.link_telegram(TOKEN, USER, T0 + 30)
    before = await store.landing_session(TOKEN)
    await store.save_landing_session(_session(at=T0 + 60, fbc="fb.1.1763800060000.Forged"))
    assert await store.landing_session(TOKEN) == before


async def test_identities_give_each_user_the_latest_linked_session(store: Store) -> None:
    """Two links for one user: the later one wins; unlinked users are left out."""
    await store.save_landing_session(_session())
    await store.save_landing_session(_session(OTHER, at=T0 + 100, fbc="fb.1.1763800100000.Two"))
    await store.save_landing_session(_session("UnLinkedSessionToken1"))
    await store.link_telegram(TOKEN, USER, T0 + 30)
    await store.link_telegram(OTHER, USER, T0 + 200)
    found = await store.identities_for([USER, "42"])
    assert set(found) == {USER}
    assert found[USER].token == OTHER
    assert found[USER].fbc == "fb.1.1763800100000.Two"
    assert await store.identities_for([]) == {}


async def test_identities_for_many_users_in_one_call(store: Store) -> None:
    """One read answers for every user of a batch."""
    users = [str(1000 + i) for i in range(30)]
    for i, user in enumerate(users):
        token = f"BatchToken{i:012d}"
        await store.save_landing_session(_session(token))
        await store.link_telegram(token, user, T0 + i)
    found = await store.identities_for(users)
    assert {user: s.token for user, s in found.items()} == {
        user: f"BatchToken{i:012d}" for i, user in enumerate(users)
    }


async def test_purge_forgets_sessions_last_seen_before_the_cutoff(store: Store) -> None:
    """Old sessions go, linked or not; fresh ones stay."""
    await store.save_landing_session(_session(at=T0 - 100))
    await store.save_landing_session(_session(OTHER, at=T0))
    await store.link_telegram(TOKEN, USER, T0)
    assert await store.purge_landing_sessions(before_s=T0 - 50) == 1
    assert await store.landing_session(TOKEN) is None
    assert await store.landing_session(OTHER) is not None
    assert await store.identities_for([USER]) == {}


async def test_concurrent_links_of_one_token_have_one_winner(store: Store) -> None:
    """Ten users pressing START on one token at once: exactly one is linked."""
    await store.save_landing_session(_session())
    results = await asyncio.gather(
        *(store.link_telegram(TOKEN, str(500 + i), T0 + 1) for i in range(10))
    )
    assert sum(results) == 1
    saved = await store.landing_session(TOKEN)
    assert saved is not None and saved.telegram_id == str(500 + results.index(True))


async def test_sessions_survive_a_reopen_of_sqlite(tmp_path: Path) -> None:
    """A linked session is durable: a new store on the same file finds it."""
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    first = open_store(url, clock=FrozenClock(T0))
    await first.migrate()
    await first.save_landing_session(_session())
    await first.link_telegram(TOKEN, USER, T0 + 30)
    await first.close()
    again = open_store(url, clock=FrozenClock(T0))
    await again.migrate()
    found = await again.identities_for([USER])
    await again.close()
    assert found[USER] == dataclasses.replace(_session(), telegram_id=USER, linked_at=T0 + 30)
