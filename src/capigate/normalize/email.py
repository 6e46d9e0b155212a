"""``em``: trim, lowercase, loose validation that allows internationalized (UTF-8) addresses.

Meta's rule is only trim + lowercase (spec §3.1); the validation exists so that a value that
cannot be anyone's address is dropped instead of sent as a hash that can never match. Dots and
``+tags`` are kept (Meta documents no provider-specific folding). ``Name <addr>`` and ``<addr>``
yield ``addr``. Refused: no ``@`` or several, whitespace or ``<>`` inside, empty dot-labels on
either side, domain labels other than letters (any script), digits and inner hyphens (so IP
literals like ``user@[192.168.0.1]`` go), a single-label domain, an all-digit top-level label.
"""

from __future__ import annotations

import re
import unicodedata

from capigate.errors import InvalidField
from capigate.normalize.text import nfc, require, trim

_ANGLE_ADDR = re.compile(r"[^<>]*<([^<>]*)>")
_ASCII_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[a-z0-9]+(?:-+[a-z0-9]+)*(?:\.[a-z0-9]+(?:-+[a-z0-9]+)*)*\.(?=[a-z0-9-]*[a-z])[a-z0-9-]+"
)
_LOCAL_FORBIDDEN = frozenset(' <>()[]\\,;:"@')


def normalize_email(text: str) -> str:
    """The lowercase address; InvalidField(``em``, ``email_format``) if it is not one."""
    value = text.strip().lower()
    if value.isascii() and _ASCII_EMAIL.fullmatch(value):
        return value  # the common case, decided by one regex
    value = trim(text)
    wrapped = _ANGLE_ADDR.fullmatch(value)
    if wrapped:
        value = trim(wrapped.group(1))
    value = require("em", nfc(value), "email").lower()
    if value.isascii():
        if _ASCII_EMAIL.fullmatch(value):
            return value
        raise _invalid(value)
    if _is_unicode_email(value):
        return value
    raise _invalid(value)


def _invalid(value: str) -> InvalidField:
    reason = "has no '@'" if "@" not in value else "is not a usable address"
    return InvalidField("em", "email_format", f"the email {reason}")


def _is_unicode_email(value: str) -> bool:
    local, at, domain = value.partition("@")
    if not at or not _valid_local(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(_valid_label(label) for label in labels):
        return False
    return not labels[-1].replace("-", "").isdigit()


def _valid_local(local: str) -> bool:
    if any(not label for label in local.split(".")):
        return False
    return not any(ch in _LOCAL_FORBIDDEN or _is_space_or_control(ch) for ch in local)


def _valid_label(label: str) -> bool:
    if not label or label[0] == "-" or label[-1] == "-":
        return False
    return all(ch == "-" or ch.isalnum() or unicodedata.category(ch)[0] == "M" for ch in label)


def _is_space_or_control(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "CZ"
