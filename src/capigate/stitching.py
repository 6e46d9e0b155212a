"""Ingest's attribution step: save landing sessions, link /start tokens, fill match keys.

It runs on a request's items after their identity was checked (a ``user.telegram_id`` that
survives that check is trusted: a server key sent it, or Telegram signed it in ``initData``)
and after request enrichment (IP, user agent, cookies, ``fbclid`` -> ``fbc``), and before the
plan mapping. In order:

1. every item with a valid ``context.landing_token`` saves (or refreshes) its landing session;
2. every item with a ``user.telegram_id`` and a token in ``context.start_param`` links that
   user to the session, as ``capigate.attribution.rules.link_refusal`` allows;
3. every item of a linked user gets the session's keys it lacks (``rules.carried``), with one
   store read for the whole request (``carry``; derived events take this step alone).

Writes happen before the events are stored, so a refused request may leave a session saved or
a link made: both are facts about the user, true whatever became of the event, and repeating
them changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from capigate.attribution import rules
from capigate.attribution.config import AttributionSettings
from capigate.attribution.session import UTM_KEYS, LandingSession, from_item
from capigate.plan.model import Plan, PlanEvent
from capigate.store.identity import IdentityStore

log = logging.getLogger("capigate.attribution")


class Stitcher:
    """Runs the attribution step of ingest over one store, plan and settings."""

    def __init__(self, store: IdentityStore, plan: Plan, settings: AttributionSettings) -> None:
        self._store = store
        self._plan = plan
        self._settings = settings

    async def stitch(self, items: Sequence[object], *, now_s: float) -> list[object]:
        """The items with their users' landing-page keys filled in (see the module doc)."""
        if not self._settings.enabled:
            return list(items)
        landings: list[tuple[Mapping[str, Any], str]] = []  # (item, its landing token)
        users: list[tuple[Mapping[str, Any], str]] = []  # (item, its Telegram user)
        for item in items:  # one pass: most items hold neither
            if not _is_mapping(item):
                continue
            token = rules.landing_token(item) if _may_hold(item, rules.LANDING_TOKEN) else None
            if token is not None:
                landings.append((item, token))
            if (user := _telegram_id(item)) is not None:
                users.append((item, user))
        for item, token in landings:
            await self._store.save_landing_session(from_item(item, token, now_s))
        for item, user in users:  # linking changes no item
            await self._link(item, user, now_s)
        return await self._carry(items, {user for _, user in users}, now_s)

    async def carry(self, items: Sequence[object], *, now_s: float) -> list[object]:
        """Step 3 alone: the items with their linked users' keys filled in.

        Events the gateway derives (lifecycle) take this step only: they report no landing
        session and link nobody, but carry the keys as any event of their user does.
        """
        if not self._settings.enabled:
            return list(items)
        users = {
            user for item in items if _is_mapping(item) and (user := _telegram_id(item)) is not None
        }
        return await self._carry(items, users, now_s)

    async def purge(self, *, now_s: float) -> int:
        """Forget sessions that can no longer link or carry anything; returns how many."""
        return await self._store.purge_landing_sessions(before_s=now_s - self._settings.retention_s)

    async def _carry(self, items: Sequence[object], users: set[str], now_s: float) -> list[object]:
        if not users:
            return list(items)
        sessions = await self._store.identities_for(users)
        return [self._filled(item, sessions, now_s) for item in items]

    async def _link(self, item: Mapping[str, Any], user: str, now_s: float) -> None:
        token = rules.start_token(item) if _may_hold(item, rules.START_PARAM) else None
        if token is None:
            return
        session = await self._store.landing_session(token)
        refusal = rules.link_refusal(session, user, self._settings, now_s)
        if refusal is None and not await self._store.link_telegram(token, user, now_s):
            refusal = "token_taken"  # another user linked it since we read it
        if refusal is not None:
            log.info("start token not linked", extra={"fields": {"reason": refusal}})

    def _filled(self, item: object, sessions: Mapping[str, LandingSession], now_s: float) -> object:
        if not _is_mapping(item):
            return item
        user = rules.telegram_id(item)
        session = sessions.get(user) if user is not None else None
        if session is None:
            return item
        carry = rules.carried(
            session, item, self._settings, now_s, app_event=self._may_be_app(item)
        )
        if carry == rules.NOTHING:
            return item
        return rules.apply(item, carry, self._utm_allowed(item))

    def _may_be_app(self, item: Mapping[str, Any]) -> bool:
        """Whether the item may become an app event (or, as an activity, derive one)."""
        override = item.get("action_source")
        if isinstance(override, str):
            return override == "app"
        rule = self._rule(item)
        if rule is None:
            return True  # an activity or a raw Meta name: its action source is not known here
        return "app" in (rule.action_source, *rule.action_source_by_source.values())

    def _utm_allowed(self, item: Mapping[str, Any]) -> tuple[str, ...]:
        """UTMs the mapping will send on: all, unless the plan warns about undeclared ones."""
        rule = self._rule(item)
        if rule is None or self._plan.defaults.undeclared_properties == "keep":
            return UTM_KEYS
        return tuple(key for key in UTM_KEYS if key in rule.declared)

    def _rule(self, item: Mapping[str, Any]) -> PlanEvent | None:
        key = item.get("event")
        return self._plan.events.get(key) if isinstance(key, str) else None


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, without the ABC check for the usual plain dict."""
    return type(value) is dict or isinstance(value, Mapping)


def _may_hold(item: Mapping[str, Any], key: str) -> bool:
    """Whether ``item``'s context may hold ``key``: false for none or a plain dict without it
    (the usual cases); ``rules`` reads the rest."""
    context = item.get("context")
    return context is not None and not (type(context) is dict and key not in context)


def _telegram_id(item: Mapping[str, Any]) -> str | None:
    """``rules.telegram_id``, answered at once for the usual item that names no Telegram user."""
    user = item.get("user")
    if user is None or (type(user) is dict and user.get("telegram_id") is None):
        return None
    return rules.telegram_id(item)
