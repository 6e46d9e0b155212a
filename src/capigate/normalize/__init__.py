"""Normalization and hashing of Meta's customer-information fields (``user_data``, spec §3).

Public API::

    normalize_field(key, value, *, default_region=None, max_birth_year=MAX_BIRTH_YEAR) -> str
    hash_field(key, value, *, default_region=None, max_birth_year=MAX_BIRTH_YEAR) -> str
    normalize_user_data(raw, *, default_region=None, max_birth_year=MAX_BIRTH_YEAR)
        -> (user_data, findings)
    is_hashed(value) -> bool;  HASHED_KEYS, NEVER_HASH_KEYS

Field functions raise ``capigate.errors.InvalidField`` (key, stable rule slug, message) and
nothing else for any value; ``normalize_user_data`` never raises for a bad value: it drops it
with a warning. An unknown ``default_region`` is a configuration mistake (``ConfigError``).
One module per rule: ``email``, ``phone``, ``names`` (fn, ln, ct, st), ``gender``, ``dates``
(db), ``geo`` (country, zp), ``identifiers`` (external_id, never-hash keys), ``hashed``; each
module's docstring states its rule and the choices made where Meta's documentation and its two
implementations disagree (tests/conformance pins them against Meta's outputs).

Decisions in brief: Canadian provinces map to postal codes like US states (``qc``); the latest
birth year is a parameter (``max_birth_year``, default ``MAX_BIRTH_YEAR``) because the core has
no clock; the SDK-only keys ``f5first``, ``f5last``, ``fi``, ``dobd``, ``dobm``, ``doby`` are
refused as unknown (send ``fn``, ``ln``, ``db``); a one-value list is sent as a string.

Speed: ASCII fast paths (bytes.translate, one regex for common emails, ``+``/``00`` phones
without libphonenumber), bounded memo caches for values that repeat across events (region and
country lookups, IP verdicts), and ``memo``: what Meta receives for each raw value already
normalized, per key. Privacy of the caches: ``em`` and ``ph`` are remembered under a BLAKE2b
digest of the raw value, never the value itself, and map to the SHA-256 the queue stores anyway
(keying them by the raw text would save about 1 µs per event; we keep the digest);
``external_id`` is not remembered (cheaper to recompute than to digest); the low-cardinality
fields (fn, ln, ge, db, ct, st, zp, country) and the values Meta receives in the clear (IP, user
agent, fbp, fbc) are keyed by their text. Nothing is written anywhere; every cache has a fixed
maximum size, in entries and in the length of what it keeps.
"""

from __future__ import annotations

from capigate.normalize.dates import MAX_BIRTH_YEAR, MIN_BIRTH_YEAR
from capigate.normalize.fields import hash_field, normalize_field
from capigate.normalize.hashed import is_hashed
from capigate.normalize.keys import HASHED_KEYS, NEVER_HASH_KEYS, USER_DATA_ORDER
from capigate.normalize.userdata import normalize_user_data

__all__ = [
    "HASHED_KEYS",
    "MAX_BIRTH_YEAR",
    "MIN_BIRTH_YEAR",
    "NEVER_HASH_KEYS",
    "USER_DATA_ORDER",
    "hash_field",
    "is_hashed",
    "normalize_field",
    "normalize_user_data",
]
