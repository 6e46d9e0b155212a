"""Text helpers shared by the field rules: coerce a raw value, trim it, delete character classes."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date

from capigate.errors import InvalidField

# Characters str.strip() does not treat as whitespace but that users paste around values.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"
_INVISIBLE_SET = frozenset(_INVISIBLE)
_STRIPPABLE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace()) + _INVISIBLE
# Apostrophe-like marks. Some are letters by category (ʻ ʼ ʽ ʹ are Lm), yet in names they
# are spelling variants of ', so every one of them is removed, never kept.
APOSTROPHES = "'`´ʹʻʼʽ‘’′"
# Bounds the per-code-point caches below: an attacker sending every code point cannot grow them.
MAX_CACHED_CODE_POINTS = 4096


def to_text(key: str, value: object) -> str:
    """The value as text: strings as they are, whole numbers in decimal, dates in ISO 8601."""
    if isinstance(value, str):
        if not value.isascii():
            _require_utf8(key, value)
        return value
    if isinstance(value, bool) or value is None:
        raise InvalidField(key, "bad_type" if value is not None else "empty", _type_message(value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return _int_text(key, value)
    if isinstance(value, date):
        return value.isoformat()
    raise InvalidField(key, "bad_type", _type_message(value))


def _int_text(key: str, value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise InvalidField(key, "bad_type", "the number has too many digits") from None


def _require_utf8(key: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(key, "bad_text", "contains invalid Unicode (a lone surrogate)") from None


def _type_message(value: object) -> str:
    if value is None:
        return "no value given"
    return f"expected a string, a whole number or a date, got {type(value).__name__}"


def trim(text: str) -> str:
    """Remove Unicode whitespace and invisible format characters from both ends."""
    text = text.strip()
    if text[:1] in _INVISIBLE_SET or text[-1:] in _INVISIBLE_SET:
        return text.strip(_STRIPPABLE)
    return text


def nfc(text: str) -> str:
    """Unicode NFC; ASCII is returned as it is without a table lookup."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def require(key: str, text: str, what: str = "value") -> str:
    """``text`` if it is non-empty, else InvalidField with rule ``empty``."""
    if not text:
        raise InvalidField(key, "empty", f"{what} is empty")
    return text


class DeleteTable(dict[int, int | None]):
    """A ``str.translate`` table that decides each code point once with ``drop`` and caches it.

    ``ascii_delete`` is the same decision for ASCII as bytes, for ``bytes.translate`` (several
    times faster than ``str.translate`` with a dict).
    """

    def __init__(self, drop: Callable[[str], bool]) -> None:
        super().__init__()
        self._drop = drop
        self.ascii_delete = bytes(cp for cp in range(128) if drop(chr(cp)))

    def __missing__(self, code_point: int) -> int | None:
        result = None if self._drop(chr(code_point)) else code_point
        if len(self) < MAX_CACHED_CODE_POINTS:
            self[code_point] = result
        return result


def _is_separator_or_mark(ch: str) -> bool:
    # Punctuation, symbols, spaces, controls and format characters (soft hyphen, zero width).
    return ch in APOSTROPHES or unicodedata.category(ch)[0] in "PSZ" or _is_control(ch)


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_separator_or_digit(ch: str) -> bool:
    return _is_separator_or_mark(ch) or unicodedata.category(ch)[0] == "N"


def _is_not_letter(ch: str) -> bool:
    return ch in APOSTROPHES or unicodedata.category(ch)[0] not in "LM"


NAME_TABLE = DeleteTable(_is_separator_or_mark)
CITY_TABLE = DeleteTable(_is_separator_or_digit)
LETTERS_TABLE = DeleteTable(_is_not_letter)


def squeeze(text: str, table: DeleteTable) -> str:
    """Lowercase ``text`` and delete what ``table`` drops; non-ASCII is NFC before and after."""
    if text.isascii():
        if text.isalpha():
            return text.lower()
        return text.encode().translate(None, table.ascii_delete).decode().lower()
    squeezed = unicodedata.normalize("NFC", text).lower().translate(table)
    return unicodedata.normalize("NFC", squeezed)


def fold_accents(text: str) -> str:
    """``text`` without combining marks (Québec -> quebec), for lookups in ASCII-keyed tables."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
