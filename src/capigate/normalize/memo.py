"""Bounded memos of what Meta receives for a raw ``user_data`` value, per key and settings.

Events of one person repeat their values (a funnel of five events shares the email, phone,
name and city), so ``normalize_user_data`` remembers the result for each raw value it has
normalized without a finding. The result is a pure function of (key, raw value, default region,
latest birth year), so a remembered result is exactly what normalizing again would give.

What is kept in memory, and why it is safe:

* ``em`` and ``ph`` (direct identifiers) are keyed by a 128-bit BLAKE2b digest of the raw value,
  never by the value itself, and map to the SHA-256 Meta receives: the memo holds nothing that
  the queue does not already hold (hashes), and no raw email or phone outlives its request.
* ``external_id`` is not memoized: normalizing it costs less than the digest would.
* Low-cardinality fields (``fn``, ``ln``, ``ge``, ``db``, ``ct``, ``st``, ``zp``, ``country``) and
  the values Meta receives in the clear anyway (``client_ip_address``, ``client_user_agent``,
  ``fbp``, ``fbc``: the queue holds them as they are) are keyed by the raw text: a first name or
  a city alone identifies no one.
* Nothing is ever written anywhere: memos live in process memory only.

Each memo holds at most ``MAX_MEMO_ENTRIES`` entries of values up to ``MAX_MEMO_TEXT_CHARS``
long and is emptied when full, so memory stays bounded whatever a sender sends; a hostile stream
of unique values only costs the memo's benefit.
"""

from __future__ import annotations

from hashlib import blake2b

from capigate.normalize.phone import check_region

MAX_MEMO_ENTRIES = 1 << 16  # per key and settings
MAX_MEMO_TEXT_CHARS = 512  # longer raw values (a user agent can be long) are not remembered
MAX_MEMO_SETTINGS = 8  # (default region, latest birth year) pairs kept at once
DIGEST_BYTES = 16  # 128 bits: a collision between two raw values is not a practical event

DIGEST_KEYS = frozenset({"em", "ph"})
PLAIN_KEYS = frozenset(
    {"fn", "ln", "ge", "db", "ct", "st", "zp", "country",
     "client_ip_address", "client_user_agent", "fbp", "fbc"}
)  # fmt: skip

Tables = dict[str, dict[object, str]]
_memos: dict[tuple[str | None, int], tuple[str | None, Tables]] = {}


def tables(default_region: str | None, max_year: int) -> tuple[str | None, Tables]:
    """The checked region (``phone.check_region``: ConfigError for an unknown one) and the memo
    table of each memoized key for this default region and latest birth year. The tables of
    ``DIGEST_KEYS`` take ``digest(value)`` as key, the others the value itself."""
    found = _memos.get((default_region, max_year))
    if found is None:
        region = check_region(default_region)
        if len(_memos) >= MAX_MEMO_SETTINGS:
            _memos.clear()
        found = (region, {key: {} for key in PLAIN_KEYS | DIGEST_KEYS})
        _memos[(default_region, max_year)] = found
    return found


def digest(text: str) -> bytes:
    """The memo key of a direct identifier: a BLAKE2b digest, never the raw text."""
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES).digest()


def remember(table: dict[object, str], key: object, value: str) -> None:
    """Store ``value`` under ``key``, emptying the table first when it is full; a long text
    key or value is not stored at all."""
    if len(value) > MAX_MEMO_TEXT_CHARS or (type(key) is str and len(key) > MAX_MEMO_TEXT_CHARS):
        return
    if len(table) >= MAX_MEMO_ENTRIES:
        table.clear()
    table[key] = value


def clear() -> None:
    """Forget every memo (tests; a process that wants to drop them)."""
    _memos.clear()
