"""Business messaging (spec §6): channel, channel identifiers and the event-name allowlist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.options import ValidationOptions
from capigate.validate.rules import found

# Meta's FAQ list (§6.1); the live API has been seen to accept fewer (options.strict_...).
OFFICIAL_MESSAGING_NAMES = frozenset(
    {"Purchase", "LeadSubmitted", "InitiateCheckout", "AddToCart", "ViewContent",
     "OrderCreated", "OrderShipped", "OrderDelivered", "OrderCanceled", "OrderReturned",
     "CartAbandoned", "QualifiedLead", "RatingProvided", "ReviewProvided"}
)  # fmt: skip
MESSAGING_CHANNELS = frozenset({"whatsapp", "messenger", "instagram"})

# Per channel: (rule, any-of keys that satisfy it, what to send).
_IDENTIFIERS: Mapping[str, tuple[tuple[str, tuple[str, ...], str], ...]] = {
    "whatsapp": (
        ("whatsapp_account_missing", ("whatsapp_business_account_id",), "the WABA id"),
        ("ctwa_clid_missing", ("ctwa_clid",), "the click id from the webhook's referral"),
    ),
    "messenger": (
        ("page_id_missing", ("page_id",), "the Facebook Page id"),
        ("page_scoped_user_id_missing", ("page_scoped_user_id",), "the PSID from the webhook"),
    ),
    "instagram": (
        (
            "ig_account_missing",
            ("ig_account_id", "instagram_business_account_id"),
            "the Instagram account id (the live API wants ig_account_id)",
        ),
        ("ig_sid_missing", ("ig_sid",), "the Instagram-scoped user id"),
    ),
}

CHANNEL_PATH = "$.messaging_channel"


def check_messaging(
    event: Mapping[str, Any], is_messaging: bool, options: ValidationOptions, out: list[Finding]
) -> None:
    """Append findings for a business_messaging event, or for a stray channel on another event."""
    channel = event.get("messaging_channel")
    if not is_messaging:
        if channel is not None:
            out.append(
                found(
                    "messaging_channel_not_messaging",
                    CHANNEL_PATH,
                    "messaging_channel is used only with action_source=business_messaging; "
                    "Meta ignores it here (and such events are not attributed to the ad).",
                )
            )
        return
    _check_name(event.get("event_name"), options, out)
    if channel is None:
        out.append(
            found(
                "messaging_channel_required",
                CHANNEL_PATH,
                "business_messaging events need messaging_channel: whatsapp, messenger or "
                "instagram.",
            )
        )
    elif not (isinstance(channel, str) and channel in MESSAGING_CHANNELS):
        out.append(
            found(
                "messaging_channel_invalid",
                CHANNEL_PATH,
                "messaging_channel must be 'whatsapp', 'messenger' or 'instagram'.",
            )
        )
    else:
        user_data = event.get("user_data")
        _check_identifiers(channel, user_data if isinstance(user_data, Mapping) else {}, out)


def _check_name(name: object, options: ValidationOptions, out: list[Finding]) -> None:
    if not isinstance(name, str):
        return  # reported by the event schema check
    if options.messaging_allowlist == "strict":
        allowed = options.strict_messaging_names
    else:
        allowed = OFFICIAL_MESSAGING_NAMES
    if name not in allowed:
        names = ", ".join(sorted(allowed))
        out.append(
            found(
                "messaging_event_name",
                "$.event_name",
                f"event_name {name!r} is not allowed for business_messaging; the "
                f"{options.messaging_allowlist} list is: {names}. Use LeadSubmitted, not Lead.",
            )
        )


def _check_identifiers(channel: str, user_data: Mapping[str, Any], out: list[Finding]) -> None:
    for rule, keys, what in _IDENTIFIERS[channel]:
        if not any(user_data.get(key) not in (None, "") for key in keys):
            out.append(
                found(
                    rule,
                    f"$.user_data.{keys[0]}",
                    f"{channel} events need user_data.{' or '.join(keys)}: {what}.",
                )
            )
