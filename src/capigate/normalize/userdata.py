"""A whole ``user_data`` object: every field normalized and hashed, bad values dropped.

Choices, so that the payload is stable:

* The output keys follow Meta's table order (``keys.USER_DATA_ORDER``), whatever the input order.
* A hashed key given a list is deduplicated after hashing, keeping the first occurrence. One
  distinct value left: sent as a string, exactly as if a string had been given; several: a list.
* ``None``, blank strings and empty lists mean "not given": no output, no finding.
* An invalid value is dropped with a warning (path ``$.user_data.<key>`` or ``…<key>[i]``, the
  InvalidField rule, spec ``§3.1``); the other values and keys still go. Unknown keys, including
  the SDK-only ``f5first``/``f5last``/``fi``/``dobd``/``dobm``/``doby`` that Meta's parameter
  table no longer lists, are dropped the same way: send ``fn``, ``ln`` and ``db`` instead.
* A raw (never-hash) key takes one value; a one-element list is unwrapped, a longer one dropped.
* A phone kept without a known country code (no default region) is sent with a warning
  ``phone_no_country_code``: Meta requires the country code and will rarely match it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capigate.errors import InvalidField
from capigate.findings import Finding, warning
from capigate.normalize.dates import MAX_BIRTH_YEAR
from capigate.normalize.fields import hash_phone, hash_text, is_known_key, prepared
from capigate.normalize.keys import HASHED_KEYS, USER_DATA_ORDER
from capigate.normalize.phone import check_region

SPEC_SECTION = "§3.1"


class _Context:
    """Per-call settings and the findings collected so far."""

    __slots__ = ("findings", "max_year", "region")

    def __init__(self, region: str | None, max_year: int) -> None:
        self.region = region
        self.max_year = max_year
        self.findings: list[Finding] = []

    def hash_one(self, key: str, value: object, path: str) -> str | None:
        try:
            text = prepared(key, value)
            if key != "ph":
                return hash_text(key, text, self.region, self.max_year)
            hashed, has_country_code = hash_phone(text, self.region)
        except InvalidField as exc:
            self.drop(path, exc.rule, exc.message)
            return None
        if not has_country_code:
            self.findings.append(
                warning(
                    path,
                    "phone_no_country_code",
                    "the phone number has no country code; set a default region",
                    SPEC_SECTION,
                )
            )
        return hashed

    def drop(self, path: str, rule: str, message: str) -> None:
        self.findings.append(warning(path, rule, f"{message}; the value was dropped", SPEC_SECTION))


def _is_absent(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and not value


def _hashed_key(ctx: _Context, key: str, value: object) -> str | list[str] | None:
    path = f"$.user_data.{key}"
    if not isinstance(value, list | tuple):
        return ctx.hash_one(key, value, path)
    hashes = (ctx.hash_one(key, item, f"{path}[{i}]") for i, item in enumerate(value))
    distinct = list(dict.fromkeys(h for h in hashes if h is not None))
    if len(distinct) > 1:
        return distinct
    return distinct[0] if distinct else None


def _raw_key(ctx: _Context, key: str, value: object) -> str | None:
    path = f"$.user_data.{key}"
    if isinstance(value, list | tuple):
        if len(value) != 1:
            ctx.drop(path, "array_not_allowed", f"{key} takes one value, not a list")
            return None
        value = value[0]
    return ctx.hash_one(key, value, path)


def normalize_user_data(
    raw: Mapping[str, Any],
    *,
    default_region: str | None = None,
    max_birth_year: int = MAX_BIRTH_YEAR,
) -> tuple[dict[str, Any], list[Finding]]:
    """The ``user_data`` Meta receives, and a warning for every value dropped on the way.

    Values may be strings or whole numbers, or lists of them for the hashed keys. See the module
    docstring for the choices made about lists, blanks and unknown keys.
    """
    if not isinstance(raw, Mapping):
        raise InvalidField("user_data", "bad_type", "user_data must be a JSON object")
    ctx = _Context(check_region(default_region), max_birth_year)
    for key in raw:
        if not is_known_key(key):
            ctx.drop(f"$.user_data.{key}", "unknown_key", f"{key!r} is not a Meta user_data key")
    out: dict[str, Any] = {}
    for key in USER_DATA_ORDER:
        value = raw.get(key)
        if _is_absent(value):
            continue
        result = _hashed_key(ctx, key, value) if key in HASHED_KEYS else _raw_key(ctx, key, value)
        if result is not None:
            out[key] = result
    return out, ctx.findings
