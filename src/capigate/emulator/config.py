"""Every knob of the emulator, one per behaviour the spec marks UNCERTAIN (spec §12, §14).

The defaults follow the spec's suggestions: 7-day age limit, 62 days for ``physical_store``,
60 s of future skew, the official business-messaging allowlist, unhashed PII only warned about,
any numeric pixel id and any non-empty token accepted, throttling answered with HTTP 400.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from capigate.errors import ConfigError
from capigate.secret import Secret

DAY_S = 86_400
# Beyond this many seconds from the epoch an integer is no date at all (and the float age of a
# larger one would overflow).
EVENT_TIME_LIMIT_S = 10**15
MAX_EVENT_AGE_S = 7 * DAY_S
PHYSICAL_STORE_MAX_AGE_S = 62 * DAY_S
FUTURE_SKEW_S = 60
DEDUP_WINDOW_S = 48 * 3_600
MAX_BATCH_EVENTS = 1_000

Mode = Literal["warn", "reject"]
BusinessMessagingMode = Literal["official", "strict"]

# Spec §6.1: Meta's FAQ list of business-messaging event names.
OFFICIAL_BM_EVENTS = frozenset(
    {
        "Purchase", "LeadSubmitted", "InitiateCheckout", "AddToCart", "ViewContent",
        "OrderCreated", "OrderShipped", "OrderDelivered", "OrderCanceled", "OrderReturned",
        "CartAbandoned", "QualifiedLead", "RatingProvided", "ReviewProvided",
    }
)  # fmt: skip
# Spec §6.2: the narrower list several teams saw live (seed 003, Zernio).
STRICT_BM_EVENTS = frozenset(
    {"LeadSubmitted", "Purchase", "AddToCart", "InitiateCheckout", "ViewContent"}
)


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """How the emulator answers; build one with keywords or ``from_mapping``."""

    # §12.1 auth: None accepts any numeric pixel id / any non-empty token.
    pixel_ids: frozenset[str] | None = None
    access_tokens: frozenset[Secret] | None = None
    expired_tokens: frozenset[Secret] = frozenset()
    app_secret: Secret | None = None
    require_appsecret_proof: bool = False
    deprecated_versions: frozenset[str] = frozenset()
    non_post_status: int = 400
    # §12.2 body
    max_events: int = MAX_BATCH_EVENTS
    # §12.3 schema
    max_event_name_chars: int | None = None
    unknown_user_data_keys: Literal["accept", "warn", "reject"] = "warn"
    # §12.4 time
    max_age_s: int = MAX_EVENT_AGE_S
    physical_store_max_age_s: int = PHYSICAL_STORE_MAX_AGE_S
    future_skew_s: int = FUTURE_SKEW_S
    # §12.5 per action_source
    website_requires_user_agent: bool = True
    website_requires_source_url: bool = True
    business_messaging_mode: BusinessMessagingMode = "official"
    strict_bm_events: frozenset[str] = STRICT_BM_EVENTS
    instagram_account_keys: tuple[str, ...] = ("ig_account_id", "instagram_business_account_id")
    datasets_without_whatsapp: frozenset[str] = frozenset()
    datasets_without_page: frozenset[str] = frozenset()
    # §12.6 user_data
    unhashed_pii: Mode = "warn"
    malformed_click_ids: Mode = "warn"
    # §12.7 custom_data
    purchase_requires_currency: bool = True
    value_requires_currency: bool = False
    # §12.8 dedup and recording
    dedup_window_s: int = DEDUP_WINDOW_S
    max_recorded_events: int = 1_000_000
    max_recorded_requests: int = 100_000
    # §9 faults: the HTTP status a throttle answers with when the fault does not say.
    throttle_status: int = 400

    @property
    def bm_events(self) -> frozenset[str]:
        """The business-messaging event names this configuration accepts."""
        if self.business_messaging_mode == "strict":
            return self.strict_bm_events
        return OFFICIAL_BM_EVENTS

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> EmulatorConfig:
        """Build a config from plain data (YAML/JSON); unknown keys and bad values raise."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"emulator: unknown setting(s) {', '.join(unknown)}")
        kwargs = {name: _coerce(name, value) for name, value in values.items()}
        return cls(**kwargs)

    def check(self) -> None:
        """Raise ConfigError when a setting is out of its range."""
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"emulator: {name} must be one of {sorted(allowed)}")
        if self.throttle_status not in (400, 403, 429):
            raise ConfigError("emulator: throttle_status must be 400, 403 or 429")
        if self.max_events < 1 or self.max_age_s < 1 or self.future_skew_s < 0:
            raise ConfigError("emulator: max_events, max_age_s must be > 0, future_skew_s >= 0")

    def __post_init__(self) -> None:
        self.check()


_CHOICES: dict[str, frozenset[str]] = {
    "unknown_user_data_keys": frozenset({"accept", "warn", "reject"}),
    "business_messaging_mode": frozenset({"official", "strict"}),
    "unhashed_pii": frozenset({"warn", "reject"}),
    "malformed_click_ids": frozenset({"warn", "reject"}),
}
_SECRET_SETS = frozenset({"access_tokens", "expired_tokens"})
_STRING_SETS = frozenset(
    {"pixel_ids", "deprecated_versions", "strict_bm_events", "datasets_without_whatsapp",
     "datasets_without_page"}
)  # fmt: skip


def _coerce(name: str, value: Any) -> Any:
    """Turn lists from YAML/JSON into the frozen types the dataclass holds."""
    if value is None:
        return None
    if name in _SECRET_SETS:
        return frozenset(Secret(str(v)) for v in _as_list(name, value))
    if name in _STRING_SETS:
        return frozenset(str(v) for v in _as_list(name, value))
    if name == "instagram_account_keys":
        return tuple(str(v) for v in _as_list(name, value))
    if name == "app_secret":
        return Secret(str(value))
    return value


def _as_list(name: str, value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ConfigError(f"emulator: {name} must be a list")
    return list(value)
