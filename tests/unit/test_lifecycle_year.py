"""A simulated year per user: retention, 7d_Return and AppLaunch against an independent oracle."""

from __future__ import annotations

import itertools
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.lifecycle_kit import DAY, HOUR, T0, Life

MILESTONES = (14, 30, 60, 90, 180, 365)


def _live(days: list[float]) -> Life:
    """A user active at each of ``days`` (fractional days after T0), in order."""
    life = Life()
    for day in days:
        life.do("bot_message", T0 + day * DAY)
    return life


def _retention(life: Life) -> list[int]:
    return [
        int(e.properties["days_active"]) for e in life.events if e.plan_key.startswith("retention")
    ]


def test_daily_user_gets_every_milestone_once_on_its_day() -> None:
    """Active every day at 9:00 for 400 days: each milestone on exactly day N."""
    life = _live([d + 0.375 for d in range(400)])
    assert _retention(life) == list(MILESTONES)
    days = [
        int((e.event_time - T0 - 0.375 * DAY) // DAY)
        for e in life.events
        if "retention" in e.plan_key
    ]
    assert days == list(MILESTONES)
    counts = Counter(life.names())
    assert counts["return_7d"] == 1
    assert counts["app_open"] == 399  # every day after the first is a new session (24 h gap)


def test_weekly_user_gets_the_windows_it_is_active_in() -> None:
    """Active every 7 days up to day 364: 14, 30 (day 35), 60, 90, 180; no 365 yet."""
    life = _live([float(d) for d in range(0, 365, 7)])
    assert _retention(life) == [14, 30, 60, 90, 180]
    assert Counter(life.names())["return_7d"] == 1


def test_churned_user_who_returns_gets_only_the_windows_it_came_back_in() -> None:
    """Days 0-10, then silence, then day 200 and day 370: 7d, 180 and 365, nothing between."""
    life = _live([*range(11), 200, 370])
    assert _retention(life) == [180, 365]
    assert Counter(life.names())["return_7d"] == 1


def test_user_who_never_comes_back_gets_nothing() -> None:
    """One busy first day: no return, no retention, no launch."""
    life = _live([0, 0.1, 0.2, 0.4])
    assert life.events == []


def _oracle_retention(hours: list[int]) -> list[int]:
    """The first activity in each window [N, next N) emits N, in time order."""
    bounds = [*MILESTONES, 10**9]
    hit = []
    for hour in sorted(hours):
        for low, high in itertools.pairwise(bounds):
            if low <= hour // 24 < high and low not in hit:
                hit.append(low)
    return hit


def _oracle_launches(hours: list[int]) -> int:
    ordered = sorted(hours)
    return sum(b - a >= 12 for a, b in itertools.pairwise(ordered))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=420 * 24), min_size=1, max_size=60))
def test_any_activity_pattern_matches_the_oracle(hours: list[int]) -> None:
    """For any year of activity: each milestone at most once, exactly the oracle's ones."""
    shifted = [h - min(hours) for h in sorted(hours)]  # the first activity registers
    life = Life()
    for hour in shifted:
        life.do("bot_message", T0 + hour * HOUR)
    assert _retention(life) == _oracle_retention(shifted)
    counts = Counter(life.names())
    assert counts["return_7d"] == (1 if any(1 <= h // 24 <= 7 for h in shifted) else 0)
    assert counts["app_open"] == _oracle_launches(shifted)
    assert all(n == 1 for key, n in counts.items() if key != "app_open")
