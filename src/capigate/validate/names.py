"""Event names (spec §10): exact standard names, Meta's custom-name rule, optional house style."""

from __future__ import annotations

import re

from capigate.findings import Finding
from capigate.validate.options import ValidationOptions
from capigate.validate.rules import found

# Meta Pixel reference (D-PIX): the 17 standard events plus PageView. Case-sensitive.
STANDARD_EVENT_NAMES = frozenset(
    {
        "AddPaymentInfo", "AddToCart", "AddToWishlist", "CompleteRegistration", "Contact",
        "CustomizeProduct", "Donate", "FindLocation", "InitiateCheckout", "Lead", "PageView",
        "Purchase", "Schedule", "Search", "StartTrial", "SubmitApplication", "Subscribe",
        "ViewContent",
    }
)  # fmt: skip
_STANDARD_BY_FOLDED = {name.casefold(): name for name in STANDARD_EVENT_NAMES}

MAX_CUSTOM_NAME_CHARS = 50  # Meta Pixel: "cannot exceed 50 characters"
SDK_MAX_NAME_CHARS = 40  # Meta's app-events SDK drops longer names
_CUSTOM_NAME = re.compile(r"[0-9A-Za-z_][0-9A-Za-z _-]*")  # the SDK's validateIdentifier
_STRICT_NAME = re.compile(r"[a-z_][a-z0-9_]*")  # seed 004 house style
_RESERVED_PREFIXES = ("fb_", "_fb")

PATH = "$.event_name"


def check_event_name(name: str, options: ValidationOptions, out: list[Finding]) -> None:
    """Append findings for ``name``; a standard name spelled exactly passes untouched."""
    if name in STANDARD_EVENT_NAMES:
        return
    standard = _STANDARD_BY_FOLDED.get(name.strip().casefold())
    if standard is not None:
        out.append(
            found(
                "event_name_case",
                PATH,
                f"event_name {name!r} is not the standard event {standard!r}: Meta treats it as "
                f"a custom event, so it will not optimise as {standard}. Spell it exactly.",
            )
        )
    _check_custom_name(name, out)
    if options.custom_name_style == "strict" and standard is None:
        _check_strict_style(name, out)


def _check_custom_name(name: str, out: list[Finding]) -> None:
    if len(name) > MAX_CUSTOM_NAME_CHARS:
        out.append(
            found(
                "custom_event_name_too_long",
                PATH,
                f"event_name has {len(name)} characters; custom event names may have at most "
                f"{MAX_CUSTOM_NAME_CHARS}. Shorten it.",
            )
        )
    elif len(name) > SDK_MAX_NAME_CHARS:
        out.append(
            found(
                "custom_event_name_sdk_length",
                PATH,
                f"event_name has {len(name)} characters; Meta's app SDK accepts at most "
                f"{SDK_MAX_NAME_CHARS}, so the same event from an app would not match it.",
            )
        )
    if not _CUSTOM_NAME.fullmatch(name):
        out.append(
            found(
                "custom_event_name_chars",
                PATH,
                f"event_name {name!r} may use only letters, digits, '_', '-' and spaces, and "
                "must start with a letter, digit or '_'. Rename the event.",
            )
        )


def _check_strict_style(name: str, out: list[Finding]) -> None:
    if _STRICT_NAME.fullmatch(name) and not name.startswith(_RESERVED_PREFIXES):
        return
    out.append(
        found(
            "custom_event_name_style",
            PATH,
            f"event_name {name!r} breaks the strict house style: lowercase letters, digits and "
            "'_' only, no leading digit, no 'fb_'/'_fb' prefix (Meta itself accepts it).",
        )
    )
