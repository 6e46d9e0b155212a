"""An ESTIMATE of how well Meta can match an event to a person, from the ``user_data`` keys alone.

This is not Meta's Event Match Quality (EMQ). Meta computes EMQ from data we cannot see
(whether a hash matches an account, how fresh a click id is). This estimate only says which
match keys an event carries and how much each usually helps, so that the dashboard can point at
events that will match poorly and say which key would help most.

Points per key present (a key counts when it has a non-empty value):

=========================================  ======  =========================================
key                                        points  why
=========================================  ======  =========================================
``em``                                     3.0     strongest personal identifier
``ph``                                     3.0     strongest with ``em``
``fb_login_id``, ``lead_id``               3.0     a Meta-issued id of the person or lead
``page_scoped_user_id``, ``ig_sid``,       3.0     a Meta-scoped id from a messaging thread
``ctwa_clid``
``external_id``                            2.0     stable advertiser id, links Pixel and CAPI
``fbc``                                    2.0     click id: ties the event to an ad click
``madid``, ``anon_id``                     2.0     device ids for app events
``fbp``                                    1.0     browser id from the Pixel cookie
``client_ip_address``                      0.5
``client_user_agent``                      0.5
both of the two above                      +0.5    the pair matches far better than each
``fn``, ``ln``                             0.25    each
both ``fn`` and ``ln``                     +0.5
``ct``, ``st``, ``zp``, ``country``        0.25    each: location narrows a name match
``db``                                     0.5
``ge``                                     0.25
``subscription_id``                        0.25
=========================================  ======  =========================================

``score = min(10, 1 + floor(points))``: 1 with no match key, 4 for an email alone, 7 for email
and phone, 10 for email, phone, external_id and a browser id. All points are non-negative and
the pair bonuses only add, so adding a key never lowers the score. ``level``: poor (1-3),
ok (4-5), good (6-7), great (8-10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

MAX_SCORE = 10

KEY_POINTS: dict[str, float] = {
    "em": 3.0,
    "ph": 3.0,
    "fb_login_id": 3.0,
    "lead_id": 3.0,
    "page_scoped_user_id": 3.0,
    "ig_sid": 3.0,
    "ctwa_clid": 3.0,
    "external_id": 2.0,
    "fbc": 2.0,
    "madid": 2.0,
    "anon_id": 2.0,
    "fbp": 1.0,
    "client_ip_address": 0.5,
    "client_user_agent": 0.5,
    "fn": 0.25,
    "ln": 0.25,
    "ct": 0.25,
    "st": 0.25,
    "zp": 0.25,
    "country": 0.25,
    "db": 0.5,
    "ge": 0.25,
    "subscription_id": 0.25,
}

# Pairs worth more together than apart.
PAIR_BONUSES: tuple[tuple[str, str, float], ...] = (
    ("client_ip_address", "client_user_agent", 0.5),
    ("fn", "ln", 0.5),
)

# Keys worth suggesting when missing, strongest first.
_SUGGESTIONS = ("em", "ph", "external_id", "fbc", "fbp", "client_ip_address")


class Level(StrEnum):
    """A coarse label for the score, for the dashboard."""

    POOR = "poor"
    OK = "ok"
    GOOD = "good"
    GREAT = "great"


@dataclass(frozen=True, slots=True)
class MatchQuality:
    """The estimate for one event: the match keys present and the score (1-10)."""

    keys: tuple[str, ...]
    score: int

    @property
    def level(self) -> Level:
        """poor (1-3), ok (4-5), good (6-7), great (8-10)."""
        return _LEVELS[self.score]

    @property
    def missing(self) -> tuple[str, ...]:
        """The strongest keys that are absent, strongest first (``em``, ``ph``,
        ``external_id``, ``fbc``, ``fbp``, ``client_ip_address``): what to add first."""
        return tuple(key for key in _SUGGESTIONS if key not in self.keys)

    def to_dict(self) -> dict[str, Any]:
        return {
            "keys": list(self.keys),
            "score": self.score,
            "level": self.level.value,
            "missing": list(self.missing),
        }


# Level by score (index 0 unused): poor 1-3, ok 4-5, good 6-7, great 8-10.
_LEVELS = (Level.POOR,) * 4 + (Level.OK,) * 2 + (Level.GOOD,) * 2 + (Level.GREAT,) * 3


def estimate(user_data: Mapping[str, Any]) -> MatchQuality:
    """Estimate match quality from ``user_data``, hashed or not: only presence counts.

    A key counts when its value is truthy (a non-empty string or list); ``keys`` keeps the
    order of ``user_data``. The estimate depends on the keys alone, so it is worked out once
    per key sequence (bounded memo; keys are never personal data).
    """
    keys = tuple(user_data)
    quality = _by_keys.get(keys)
    if quality is not None and all(user_data.values()):  # every key counts: remembered
        return quality
    quality = _estimate(tuple(key for key, value in user_data.items() if value))
    if len(quality.keys) == len(keys):  # all of them Meta's keys with a value: remember
        if len(_by_keys) >= MAX_CACHED_KEY_SETS:
            _by_keys.clear()
        _by_keys[keys] = quality
    return quality


# Only sequences of Meta's own keys are remembered: short strings, so memory stays small.
MAX_CACHED_KEY_SETS = 1 << 14
_by_keys: dict[tuple[str, ...], MatchQuality] = {}


def native_tables() -> dict[str, object]:
    """What ``capigate._cwire.configure`` needs to estimate as ``estimate`` does: the same
    points, memo and type (and ``estimate`` itself for what it leaves to Python)."""
    return {
        "key_points": KEY_POINTS,
        "pair_bonuses": PAIR_BONUSES,
        "max_score": MAX_SCORE,
        "quality_type": MatchQuality,
        "quality_fields": plain_init_fields(MatchQuality),
        "quality_memo": _by_keys,
        "max_cached_key_sets": MAX_CACHED_KEY_SETS,
        "estimate": estimate,
    }


def _estimate(present: tuple[str, ...]) -> MatchQuality:
    keys = tuple(key for key in present if key in KEY_POINTS)
    points = sum(map(KEY_POINTS.__getitem__, keys))
    if len(keys) > 1:
        for a, b, bonus in PAIR_BONUSES:
            if a in keys and b in keys:
                points += bonus
    return MatchQuality(keys, min(MAX_SCORE, 1 + int(points)))


def plain_init_fields(cls: type) -> tuple[str, ...] | None:
    """The fields of a slots dataclass whose ``__init__`` only sets them, in order: then
    ``object.__new__`` and ``object.__setattr__`` build the same instance (as C may); else
    ``None``."""
    names = tuple(f.name for f in fields(cls))
    new: object = cls.__new__
    plain = new is object.__new__ and not hasattr(cls, "__post_init__")
    return names if plain and getattr(cls, "__slots__", None) == names else None
