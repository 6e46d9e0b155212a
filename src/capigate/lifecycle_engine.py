"""The lifecycle engine: runs the pure rules (``capigate.lifecycle``) against the store.

Activity arrives through ingest (``read`` then ``record``); timeouts run in the delivery worker
(``tick``). Either way the engine reads the user's state, applies the rules, turns each derived
event into an ingest item and prepares it exactly as a sent event (the user's landing-page
keys stitched in, plan mapping, pipeline, pixel choice: the ``prepare`` callable the
``Ingestor`` hands in), then saves the new state and
enqueues the events in one ``save_user_state``. When another request or worker saved the same
user in between, the save is refused and the engine reads and applies again, so every
once-only rule stays once-only. Derived events carry the plan's deterministic event_ids, so a
source that also sends one of them (a backfill) is deduplicated by the store.

The tick acts only while this worker holds the store's scheduler lease (one scheduler per
database) and at most every ``tick_interval_s``; it finds due users through the store's
``next_due_at`` index.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from capigate.errors import StoreError
from capigate.findings import Finding, error
from capigate.lifecycle import (
    Activity,
    DerivedEvent,
    LifecycleConfig,
    UserState,
    from_sent,
    on_activity,
    on_sent,
    on_tick,
    read_activity,
    to_item,
)
from capigate.lifecycle.activity import SPEC
from capigate.sources import DEV_SOURCE, Source
from capigate.store import EnqueueResult, NewEvent, Store

PrepareDerived = Callable[
    [dict[str, Any], str | None, float], Awaitable[tuple[NewEvent, ...] | Sequence[Finding]]
]
"""``(item, pixel_id, now_s)`` -> the event to store (one per routed pixel, the first being
the item's own) as a tuple, or the findings that stop it. Async: the ``Ingestor`` stitches
the item (the user's landing-page keys) before preparing it."""

SCHEDULER = "lifecycle"  # the store's scheduler lease for the tick
MAX_SAVE_ATTEMPTS = 8  # reads and re-applies when other writers keep saving the same user
DEFAULT_TICK_INTERVAL_S = 5.0  # Drop_Off is at most this late (plus the worker's poll)
DEFAULT_TICK_LEASE_S = 30.0  # another worker takes over the tick this long after a holder dies
DEFAULT_TICK_USERS = 500  # due users handled per tick
log = logging.getLogger("capigate.lifecycle")


@dataclass(frozen=True, slots=True)
class Observed:
    """An activity read from an ingest item, and where its derived events go."""

    activity: Activity
    item: Mapping[str, Any]  # its user and context ride along on the derived events
    pixel_id: str | None
    test_event_code: str | None
    warnings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class Stored:
    """One derived event as stored: its Meta name, event_id and ``queued``/``duplicate``."""

    event_name: str
    event_id: str
    status: str


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did: whether it held the lease, users handled, events stored."""

    held: bool
    users: int = 0
    events: int = 0


@dataclass(frozen=True, slots=True)
class _Applied:
    state: UserState
    groups: list[tuple[NewEvent, ...]]  # per derived event: its copy for each routed pixel
    per_step: list[int]  # how many of ``groups`` each activity (or the tick) derived

    @property
    def events(self) -> list[NewEvent]:
        return [event for group in self.groups for event in group]


class LifecycleEngine:
    """Keeps per-user state and derives seed 000's events from activity and time."""

    def __init__(
        self,
        store: Store,
        config: LifecycleConfig,
        *,
        prepare: PrepareDerived,
        tick_interval_s: float = DEFAULT_TICK_INTERVAL_S,
        tick_lease_s: float = DEFAULT_TICK_LEASE_S,
        tick_users: int = DEFAULT_TICK_USERS,
    ) -> None:
        self.config = config
        self._store = store
        self._prepare = prepare
        self._tick_interval_s = tick_interval_s
        self._tick_lease_s = tick_lease_s
        self._tick_users = tick_users
        self._next_tick_at = float("-inf")
        self.unsendable = 0  # derived events the plan or pipeline refused (logged)

    # --- activity (ingest) ------------------------------------------------------------------

    def is_activity(self, item: object) -> bool:
        """Whether ``item`` names an activity rather than a plan key."""
        # type() first: the usual dict skips the ABC check of isinstance(item, Mapping)
        name = item.get("event") if type(item) is dict or isinstance(item, Mapping) else None
        return isinstance(name, str) and name in self.config.activities

    def read(
        self, item: Mapping[str, Any], *, source: Source, now_s: float
    ) -> Observed | list[Finding]:
        """The activity in ``item`` from ``source``, or every finding (paths into the item)."""
        name = str(item.get("event"))
        if source is not DEV_SOURCE and not self.config.allows(name, source.name, source.channel):
            allowed = ", ".join(sorted(self.config.activities[name]))
            message = f"source {source.name!r} ({source.channel}) may not send activity {name!r}"
            return [error("$.event", "source_not_allowed", f"{message} (allowed: {allowed})", SPEC)]
        activity, findings = read_activity(item, self.config, now_s=now_s)
        if activity is None:
            return findings
        context = item.get("context")
        code = context.get("test_event_code") if isinstance(context, Mapping) else None
        test_event_code = code if isinstance(code, str) and code else source.test_event_code
        return Observed(activity, item, source.pixel_id, test_event_code, tuple(findings))

    async def record(self, observed: Sequence[Observed], *, now_s: float) -> list[list[Stored]]:
        """Apply activities (in order per user); the derived events each one stored."""
        by_user: dict[str, list[int]] = {}
        for index, one in enumerate(observed):
            by_user.setdefault(one.activity.user_key, []).append(index)
        results: list[list[Stored]] = [[] for _ in observed]
        for user_key, indexes in by_user.items():
            batch = [observed[i] for i in indexes]
            apply = partial(self._apply, batch=batch, now_s=now_s)
            stored = await self._save(user_key, now_s, apply)
            for i, part in zip(indexes, stored, strict=True):
                results[i] = part
        return results

    async def _apply(
        self, saved: UserState | None, *, batch: Sequence[Observed], now_s: float
    ) -> _Applied:
        state, events, per_step = saved, [], []
        for one in batch:
            state, derived = on_activity(state, one.activity, now_s, self.config)
            state = replace(state, pixel_id=one.pixel_id, test_event_code=one.test_event_code)
            prepared = await self._prepared(derived, state, one.item, now_s)
            events.extend(prepared)
            per_step.append(len(prepared))
        assert state is not None  # the batch is never empty
        return _Applied(state, events, per_step)

    async def note_sent(self, sent: Sequence[tuple[object, str | None]], *, now_s: float) -> int:
        """Apply events sources sent themselves: ``(item, plan_key)`` pairs (after storing them).

        A once-only key (``config.once_keys``: a backfill) marks its rule done. An activity key
        (``config.activity_keys``: seed 000's ``start_bot``) counts as the user's plain activity,
        so a /start registers a new user, and a /start after a quiet spell may derive AppLaunch,
        7d_Return or retention, sent to the pixel of the user's last activity. Only items naming
        a user (``user.telegram_id`` or ``user.user_id``) count, so other events cost nothing;
        returns how many changed a user's state.
        """
        changed = 0
        for item, plan_key in sent:
            if plan_key is None or plan_key not in self.config.noted_keys:
                continue
            user_key = _user_key(item)
            if user_key is None or not isinstance(item, Mapping):
                continue
            apply = partial(self._sent, item=item, plan_key=plan_key, now_s=now_s)
            changed += bool(await self._save(user_key, now_s, apply))
        return changed

    async def _sent(
        self, saved: UserState | None, *, item: Mapping[str, Any], plan_key: str, now_s: float
    ) -> _Applied | None:
        state, groups = saved, []
        activity = from_sent(item, plan_key, now_s=now_s)
        if activity is not None and plan_key in self.config.activity_keys:
            state, derived = on_activity(saved, activity, now_s, self.config)
            groups = await self._prepared(derived, state, item, now_s)
        if activity is not None and plan_key in self.config.once_keys:
            at_s = _event_time(item, now_s)
            state = on_sent(state, activity.user_key, plan_key, at_s, self.config) or state
        if state is None or state is saved:
            return None
        return _Applied(state, groups, [len(groups)])

    # --- time (worker) ----------------------------------------------------------------------

    async def tick(self, *, now_s: float, owner: str) -> TickReport:
        """Run due timeouts if the interval passed and ``owner`` holds the scheduler lease."""
        if now_s < self._next_tick_at:
            return TickReport(held=False)
        self._next_tick_at = now_s + self._tick_interval_s
        lease_s = self._tick_lease_s
        held = await self._store.acquire_scheduler(
            SCHEDULER, owner=owner, now_s=now_s, lease_s=lease_s
        )
        if not held:
            return TickReport(held=False)
        due = await self._store.due_user_states(now_s=now_s, limit=self._tick_users)
        events = 0
        for state in due:
            apply = partial(self._timeouts, now_s=now_s)
            try:
                stored = await self._save(state.user_key, now_s, apply, state)
            except StoreError:
                raise
            except Exception:  # a bug for one user must not stop the others or the worker
                log.exception("lifecycle: tick failed for one user; it stays due")
                continue
            events += sum(len(part) for part in stored)
        return TickReport(held=True, users=len(due), events=events)

    async def release(self, *, owner: str) -> None:
        """Give the scheduler lease up (a stopping worker), so another takes over at once."""
        await self._store.release_scheduler(SCHEDULER, owner=owner)

    async def _timeouts(self, saved: UserState | None, *, now_s: float) -> _Applied | None:
        if saved is None or saved.next_due_at is None or saved.next_due_at > now_s:
            return None  # someone else handled it meanwhile
        state, derived = on_tick(saved, now_s, self.config)
        prepared = await self._prepared(derived, state, None, now_s)
        return _Applied(state, prepared, [len(prepared)])

    # --- shared -----------------------------------------------------------------------------

    async def _save(
        self,
        user_key: str,
        now_s: float,
        apply: Callable[[UserState | None], Awaitable[_Applied | None]],
        known: UserState | None = None,
    ) -> list[list[Stored]]:
        """Apply to the saved state and save; on a conflict, read again and re-apply."""
        saved = known
        for attempt in range(MAX_SAVE_ATTEMPTS):
            if attempt or known is None:
                saved = await self._store.load_user_state(user_key)
            applied = await apply(saved)
            if applied is None:
                return []
            version = saved.version if saved is not None else 0
            results = await self._store.save_user_state(
                applied.state, expected_version=version, events=applied.events, now_s=now_s
            )
            if results is not None:
                return _split(_stored(applied.groups, results), applied.per_step)
        raise StoreError(f"a user's lifecycle state kept changing during {MAX_SAVE_ATTEMPTS} saves")

    async def _prepared(
        self,
        derived: list[DerivedEvent],
        state: UserState,
        base: Mapping[str, Any] | None,
        now_s: float,
    ) -> list[tuple[NewEvent, ...]]:
        ready = []
        for event in derived:
            outcome = await self._prepare(to_item(event, state, base), state.pixel_id, now_s)
            if isinstance(outcome, tuple):
                ready.append(outcome)
            else:
                self.unsendable += 1
                problems = sorted({f"{f.path}:{f.rule}" for f in outcome if f.is_error})
                fields = {"plan_key": event.plan_key, "problems": problems}
                log.error("lifecycle: derived event refused", extra={"fields": fields})
        return ready


def _user_key(item: object) -> str | None:
    user = item.get("user") if isinstance(item, Mapping) else None
    if not isinstance(user, Mapping):
        return None
    for name in ("telegram_id", "user_id"):
        value = user.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _event_time(item: object, now_s: float) -> float:
    value = item.get("event_time") if isinstance(item, Mapping) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return min(float(value), now_s)
    return now_s


def _stored(
    groups: Sequence[tuple[NewEvent, ...]], results: Sequence[EnqueueResult]
) -> list[Stored]:
    """One result per derived event: queued if any of its pixel copies was."""
    stored, start = [], 0
    for group in groups:
        statuses = {result.status for result in results[start : start + len(group)]}
        status = "queued" if "queued" in statuses else "duplicate"
        stored.append(Stored(group[0].event_name, group[0].event_id, status))
        start += len(group)
    return stored


def _split(stored: list[Stored], sizes: list[int]) -> list[list[Stored]]:
    parts, start = [], 0
    for size in sizes:
        parts.append(stored[start : start + size])
        start += size
    return parts
