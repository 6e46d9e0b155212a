"""One webhook provider's configuration, as the plan's ``webhooks:`` section declares it.

A provider maps its event types to :class:`Action` s (what happened to the money), names the
field paths of the facts capigate needs, and says which plan key each :class:`Outcome` (what
the payment means for the subscription) is sent as. ``capigate.webhooks.section`` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from capigate.webhooks.paths import Path
from capigate.webhooks.signature import DEFAULT_TOLERANCE_S

DAY_S = 86_400
DEFAULT_LAPSE_AFTER_DAYS = 35.0  # a monthly plan not charged for this long has lapsed
MINOR_UNITS_PER_MAJOR = 100  # tiyin per sum, cents per dollar


class Action(StrEnum):
    """What a provider's event did: charged, cancelled, ended or refunded a subscription."""

    CHARGE = "charge"
    CANCEL = "cancel"
    EXPIRE = "expire"  # the subscription ended unpaid: a later charge is a reactivation
    REFUND = "refund"


class Outcome(StrEnum):
    """What a payment means for the user's subscription; each is sent as a plan key."""

    SUBSCRIBE = "subscribe"  # first charge
    RENEWAL = "renewal"  # a charge while active on the same plan
    REACTIVATE = "reactivate"  # a charge after cancellation or lapse
    PLAN_CHANGE = "plan_change"  # a charge while active on another plan
    CANCEL = "cancel"
    REFUND = "refund"


# Defaults for seed 000's plan keys. A renewal is a Subscribe of its own transaction (the
# seed: Subscribe = "User pays recurring", one sub_<transaction id> per payment). Refunds have
# no seed row and no Meta standard event: a plan sends them by naming a key (see README).
DEFAULT_KEYS: Mapping[Outcome, str | None] = MappingProxyType(
    {
        Outcome.SUBSCRIBE: "subscribe",
        Outcome.RENEWAL: "subscribe",
        Outcome.REACTIVATE: "reactivate_subscription",
        Outcome.PLAN_CHANGE: "plan_change",
        Outcome.CANCEL: "cancel_subscription",
        Outcome.REFUND: None,
    }
)

# Facts capigate reads from a payload (``fields:``); which ones an action needs is in mapping.
FIELD_NAMES = (
    "transaction_id",
    "amount",
    "currency",
    "plan",
    "event_time",
    "reason",
    "original_transaction_id",
)
IDENTITY_KEYS = ("telegram_id", "user_id", "external_id")  # the first present keys the state


class Adapter(StrEnum):
    """How a provider's body is checked before the mapping reads it."""

    SIGNED = "signed"  # the capigate HMAC signature only
    ATMOS = "atmos"  # plus an Atmos callback's MD5 ``sign`` (capigate.webhooks.atmos)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One ``webhooks.<name>`` entry; paths are parsed, keys checked against the plan."""

    name: str
    secret_env: str
    adapter: Adapter = Adapter.SIGNED
    callback_key_env: str | None = None  # Atmos: the callback api_key's variable
    tolerance_s: float = DEFAULT_TOLERANCE_S
    event_type: Path | None = None  # None: every body is ``action``
    action: Action | None = None
    events: Mapping[str, Action] = field(default_factory=dict)
    fields: Mapping[str, Path] = field(default_factory=dict)
    user: Mapping[str, Path] = field(default_factory=dict)  # ingest user key -> path
    properties: Mapping[str, Path] = field(default_factory=dict)  # passed to custom_data
    amount_divisor: int = 1  # MINOR_UNITS_PER_MAJOR when amounts are in tiyin/cents
    currency: str | None = None  # when the payload names none
    lapse_after_s: float | None = DEFAULT_LAPSE_AFTER_DAYS * DAY_S
    lapse_after_s_by_plan: Mapping[str, float] = field(default_factory=dict)
    keys: Mapping[Outcome, str | None] = field(default_factory=lambda: dict(DEFAULT_KEYS))

    def action_for(self, event_type: str | None) -> Action | None:
        """The action of ``event_type`` (the fixed ``action`` without an event type path)."""
        if event_type is None:
            return self.action
        return self.events.get(event_type)

    def lapse_after(self, plan: str | None) -> float | None:
        """Seconds without a charge after which a subscription on ``plan`` has lapsed."""
        if plan is not None and plan in self.lapse_after_s_by_plan:
            return self.lapse_after_s_by_plan[plan]
        return self.lapse_after_s

    def key_for(self, outcome: Outcome) -> str | None:
        """The plan key ``outcome`` is sent as; ``None``: recorded, not sent."""
        return self.keys.get(outcome)
