"""Sources: key lookup by digest, what browser keys may do, per-IP token buckets."""

from __future__ import annotations

import pytest

from capigate.clock import FrozenClock
from capigate.errors import AuthError
from capigate.ratelimit import TokenBuckets
from capigate.sources import (
    DEV_SOURCE,
    Source,
    SourceKind,
    SourceRegistry,
    check_event_allowed,
    hash_key,
    is_loopback,
)

BOT_KEY = "sk_bot_0123456789abcdef"
WEB_KEY = "pk_web_0123456789abcdef"
BOT = Source("bot", SourceKind.SERVER, (hash_key(BOT_KEY),), channel="bot")
WEB = Source(
    "web",
    SourceKind.BROWSER,
    (hash_key(WEB_KEY),),
    channel="website",
    origins=frozenset({"https://example.com"}),
    events=frozenset({"page_view", "cta_click"}),
    request_context=True,
    rate_per_s=1.0,
    rate_burst=3,
)


def auth(
    registry: SourceRegistry,
    *,
    bearer: str | None = None,
    public_key: str | None = None,
    origin: str | None = None,
    peer_ip: str | None = "203.0.113.9",
) -> Source:
    return registry.authenticate(
        bearer=bearer, public_key=public_key, origin=origin, peer_ip=peer_ip
    )


def refusal(registry: SourceRegistry, **kw: str | None) -> AuthError:
    with pytest.raises(AuthError) as caught:
        auth(registry, **kw)  # type: ignore[arg-type]
    return caught.value


def test_server_key_as_bearer_finds_its_source() -> None:
    """A server key in Authorization: Bearer identifies its source."""
    assert auth(SourceRegistry([BOT, WEB]), bearer=BOT_KEY) is BOT


def test_browser_key_with_allowed_origin_finds_its_source() -> None:
    """A public key with an allowlisted Origin identifies the browser source."""
    registry = SourceRegistry([BOT, WEB])
    assert auth(registry, public_key=WEB_KEY, origin="https://example.com") is WEB
    assert auth(registry, public_key=WEB_KEY, origin="https://example.com/") is WEB


def test_missing_and_unknown_keys_are_401() -> None:
    """No key (and no keyless source) or an unknown key: 401."""
    registry = SourceRegistry([BOT, WEB])
    assert refusal(registry).status == 401
    assert refusal(registry, bearer="sk_nobody_0123456789").status == 401
    assert refusal(registry, public_key="pk_nobody_0123456789").status == 401


def test_keys_in_the_wrong_place_are_401() -> None:
    """A browser key sent as Bearer, or a server key in the public header, is refused."""
    registry = SourceRegistry([BOT, WEB])
    assert refusal(registry, bearer=WEB_KEY, origin="https://example.com").status == 401
    assert refusal(registry, public_key=BOT_KEY).status == 401


@pytest.mark.parametrize("origin", [None, "https://evil.example", "http://example.com", "null"])
def test_browser_key_from_another_origin_is_403(origin: str | None) -> None:
    """A public key only works from the source's allowlisted origins."""
    error = refusal(SourceRegistry([WEB]), public_key=WEB_KEY, origin=origin)
    assert error.status == 403
    assert "allowlist" in str(error)


def test_dev_source_accepts_loopback_callers_without_a_key() -> None:
    """Sandbox's keyless dev source answers loopback callers and refuses others with 403."""
    registry = SourceRegistry([DEV_SOURCE])
    for peer in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert auth(registry, peer_ip=peer) is DEV_SOURCE
    assert refusal(registry, peer_ip="192.0.2.1").status == 403
    assert refusal(registry, peer_ip=None).status == 403


def test_no_key_with_keyed_sources_is_401_even_on_loopback() -> None:
    """Loopback alone proves nothing when every source has a key."""
    assert refusal(SourceRegistry([BOT]), peer_ip="127.0.0.1").status == 401


def test_is_loopback_rejects_garbage() -> None:
    """Unparseable peers are not loopback."""
    assert not is_loopback("localhost")
    assert not is_loopback("")


def test_browser_source_may_send_only_its_website_events() -> None:
    """A browser key is limited to its event allowlist and to action_source website."""
    check_event_allowed(WEB, "page_view", "website")
    with pytest.raises(AuthError, match="may not send event 'subscribe'") as caught:
        check_event_allowed(WEB, "subscribe", "website")
    assert caught.value.status == 403
    with pytest.raises(AuthError, match="only website events"):
        check_event_allowed(WEB, "cta_click", "app")
    check_event_allowed(BOT, "subscribe", "app")


def test_browser_rate_limit_is_per_ip_on_the_injected_clock() -> None:
    """Each client IP gets its own bucket; waiting refills it; server sources are not limited."""
    clock = FrozenClock(1000.0)
    registry = SourceRegistry([BOT, WEB])
    assert [registry.rate_limit(WEB, "198.51.100.1", clock(), 1) for _ in range(3)] == [0.0] * 3
    assert registry.rate_limit(WEB, "198.51.100.1", clock(), 1) == pytest.approx(1.0)
    assert registry.rate_limit(WEB, "198.51.100.2", clock(), 1) == 0.0
    clock.advance(1.0)
    assert registry.rate_limit(WEB, "198.51.100.1", clock(), 1) == 0.0
    assert all(registry.rate_limit(BOT, "198.51.100.1", clock(), 1000) == 0.0 for _ in range(5))


def test_token_bucket_charges_cost_capped_at_the_burst() -> None:
    """A batch costs one token per event, but never more than a full bucket."""
    buckets = TokenBuckets(rate_per_s=2.0, burst=5)
    assert buckets.take("ip", 0.0, cost=50) == 0.0
    assert buckets.take("ip", 0.0, cost=1) == pytest.approx(0.5)
    assert buckets.take("ip", 1.0, cost=2) == 0.0


def test_token_buckets_forget_the_least_recently_used_key() -> None:
    """Memory stays bounded: the oldest bucket is dropped beyond max_keys."""
    buckets = TokenBuckets(rate_per_s=1.0, burst=1, max_keys=2)
    buckets.take("a", 0.0)
    buckets.take("b", 0.0)
    buckets.take("a", 0.0)
    buckets.take("c", 0.0)
    assert len(buckets) == 2
    assert buckets.take("b", 0.0) == 0.0  # forgotten, so fresh
    assert buckets.take("c", 0.0) > 0.0


def test_token_buckets_reject_nonsense_rates() -> None:
    """A zero rate or an empty burst is a programming error."""
    with pytest.raises(ValueError, match="rate_per_s"):
        TokenBuckets(rate_per_s=0, burst=1)
