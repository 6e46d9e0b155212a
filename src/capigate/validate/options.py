"""What the validator may be told: time windows, allowlist mode, name style, baseline rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from capigate.errors import ConfigError

DAY_S = 86_400
MAX_EVENT_AGE_S = 7 * DAY_S  # Meta rejects older events, and the whole request with them
PHYSICAL_STORE_MAX_AGE_S = 62 * DAY_S  # offline uploads: "within 62 days of the conversion"
FUTURE_SKEW_S = 60.0  # Meta's tolerance is undocumented; the spec suggests 60 s

# Seed 003's live-verified list; narrower than Meta's official 14 names (spec §6.2).
STRICT_MESSAGING_NAMES = frozenset(
    {"LeadSubmitted", "Purchase", "AddToCart", "InitiateCheckout", "ViewContent"}
)


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    """Knobs for the UNCERTAIN parts of Meta's rules; the defaults follow the spec.

    ``messaging_allowlist`` picks Meta's official 14 business-messaging names or
    ``strict_messaging_names``. ``custom_name_style="strict"`` adds seed 004's house style as a
    warning. ``require_baseline_match`` enforces §3.3 (too-broad user_data combinations).
    """

    max_age_s: float = MAX_EVENT_AGE_S
    physical_store_max_age_s: float = PHYSICAL_STORE_MAX_AGE_S
    future_skew_s: float = FUTURE_SKEW_S
    messaging_allowlist: Literal["official", "strict"] = "official"
    strict_messaging_names: frozenset[str] = STRICT_MESSAGING_NAMES
    custom_name_style: Literal["meta", "strict"] = "meta"
    require_baseline_match: bool = True

    def __post_init__(self) -> None:
        if self.max_age_s <= 0 or self.physical_store_max_age_s <= 0:
            raise ConfigError("validation: max_age_s and physical_store_max_age_s must be > 0")
        if self.future_skew_s < 0:
            raise ConfigError("validation: future_skew_s must be >= 0")
        if self.messaging_allowlist not in ("official", "strict"):
            raise ConfigError("validation: messaging_allowlist must be 'official' or 'strict'")
        if self.custom_name_style not in ("meta", "strict"):
            raise ConfigError("validation: custom_name_style must be 'meta' or 'strict'")
        # A plain set or list from a config file would break hashing of the options.
        object.__setattr__(self, "strict_messaging_names", frozenset(self.strict_messaging_names))


DEFAULT_OPTIONS = ValidationOptions()
