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

Two ways, one result: a dict of known keys whose values are all strings that normalize without a
finding (nearly every event) takes the short way, a remembered plan per key sequence that writes
the output in Meta's order with one lookup per value (``memo``); anything else goes the long way,
value by value in input order, so findings come in input order. Tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from capigate.errors import InvalidField
from capigate.findings import Finding, warning
from capigate.normalize import memo
from capigate.normalize.dates import FILLER_WORDS, MAX_BIRTH_YEAR, MONTH_FIRST_REGIONS, MONTHS
from capigate.normalize.fields import TEXT_RULES, hash_phone, hash_text, prepared
from capigate.normalize.gender import GENDERS
from capigate.normalize.geo import STATE_TABLE, country_table
from capigate.normalize.keys import HASHED_ORDER, USER_DATA_ORDER

SPEC_SECTION = "§3.1"
_RANK = {key: rank for rank, key in enumerate(USER_DATA_ORDER)}  # hashed keys come first
_HASHED_COUNT = len(HASHED_ORDER)


class _Context:
    """Per-call settings and the findings collected so far."""

    __slots__ = ("findings", "max_year", "region")

    def __init__(self, region: str | None, max_year: int, findings: list[Finding]) -> None:
        self.region = region
        self.max_year = max_year
        self.findings = findings

    def one(self, key: str, value: object, index: int | None = None) -> str | None:
        """What Meta receives for one value, or None if it is blank or was dropped."""
        if type(value) is str and value.isascii():
            text = value.strip()
            if not text:
                return None  # blank means "not given"
        else:
            try:
                text = prepared(key, value)
            except InvalidField as exc:
                if exc.rule != "empty":
                    self.drop(_path(key, index), exc.rule, exc.message)
                return None
        try:
            if key != "ph":
                return hash_text(key, text, self.region, self.max_year)
            hashed, has_country_code = _phone_hash(text, self.region)
        except InvalidField as exc:
            self.drop(_path(key, index), exc.rule, exc.message)
            return None
        if not has_country_code:
            self.findings.append(_no_country_code(_path(key, index)))
        return hashed

    def hashed(self, key: str, value: object) -> str | list[str] | None:
        if type(value) is str or not isinstance(value, list | tuple):
            return self.one(key, value)
        hashes = [self.one(key, item, i) for i, item in enumerate(value)]
        distinct = list(dict.fromkeys(h for h in hashes if h is not None))
        if len(distinct) > 1:
            return distinct
        return distinct[0] if distinct else None

    def raw(self, key: str, value: object) -> str | None:
        if type(value) is not str and isinstance(value, list | tuple):
            if len(value) != 1:
                if value:
                    self.drop(_path(key), "array_not_allowed", f"{key} takes one value, not a list")
                return None
            value = value[0]
        return self.one(key, value)

    def settle(
        self,
        found: dict[str, Any],
        key: str,
        value: object,
        table: dict[object, str] | None,
        memo_key: object,
    ) -> None:
        """Put what Meta receives for ``key`` in ``found`` (or a finding), the long way, and
        remember it in ``table`` when it came without a finding."""
        rank = _RANK.get(key)
        if rank is None:
            self.drop(_path(key), "unknown_key", f"{key!r} is not a Meta user_data key")
            return
        if value is None:
            return
        count = len(self.findings)
        result = self.hashed(key, value) if rank < _HASHED_COUNT else self.raw(key, value)
        if result is not None:
            found[key] = result
            if table is not None and len(self.findings) == count and type(result) is str:
                memo.remember(table, memo_key, result)

    def drop(self, path: str, rule: str, message: str) -> None:
        self.findings.append(warning(path, rule, f"{message}; the value was dropped", SPEC_SECTION))


# Phones known to lack a country code (no default region), by a digest of the text: the short
# way never takes them (they come with a warning), and each costs a libphonenumber parse.
MAX_CACHED_PHONES = 1 << 16
_phones: dict[tuple[str | None, bytes], tuple[str, bool]] = {}


def _phone_hash(text: str, region: str | None) -> tuple[str, bool]:
    """``hash_phone``, remembered for the numbers without a known country code (the others are in
    the short way's memo); the key is a digest, never the number itself."""
    key = (region, memo.digest(text))
    found = _phones.get(key)
    if found is None:
        found = hash_phone(text, region)
        if not found[1]:
            if len(_phones) >= MAX_CACHED_PHONES:
                _phones.clear()
            _phones[key] = found
    return found


def _no_country_code(path: str) -> Finding:
    message = "the phone number has no country code; set a default region"
    return warning(path, "phone_no_country_code", message, SPEC_SECTION)


def _path(key: str, index: int | None = None) -> str:
    return f"$.user_data.{key}" if index is None else f"$.user_data.{key}[{index}]"


def normalize_user_data(
    raw: Mapping[str, Any],
    *,
    default_region: str | None = None,
    max_birth_year: int = MAX_BIRTH_YEAR,
) -> tuple[dict[str, Any], list[Finding]]:
    """The ``user_data`` Meta receives, and a warning for every value dropped on the way.

    Values may be strings or whole numbers, or lists of them for the hashed keys. See the module
    docstring for the choices made about lists, blanks and unknown keys, and ``memo`` for what
    is remembered between calls.
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise InvalidField("user_data", "bad_type", "user_data must be a JSON object")
    region, tables = memo.tables(default_region, max_birth_year)
    if type(raw) is dict:
        if _native is not None:
            day_first = region is not None and region not in MONTH_FIRST_REGIONS
            native = _native(raw, region, max_birth_year, tables, day_first)
            if isinstance(native, tuple):  # ph without a known country code, all else settled
                return native[0], [_no_country_code(_path("ph"))]
            found = native
        else:
            found = _short_way(raw, region, max_birth_year, tables)
        if found is not None:
            return found, []
    return _long_way(raw, region, max_birth_year, tables)


_PLAIN, _DIGEST, _RULE = 0, 1, 2  # how a key's value is looked up on the short way
# Key sequences of known keys only (short strings), so the memory stays small and bounded.
MAX_CACHED_PLANS = 1 << 14
Plan = tuple[str, ...]  # the keys in Meta's order
_plans: dict[tuple[str, ...], Plan] = {}


def _short_way(
    raw: dict[str, Any], region: str | None, max_year: int, tables: memo.Tables
) -> dict[str, Any] | None:
    """The user_data of a dict of known keys and string values that all normalize without a
    finding, written straight in Meta's order; None sends the whole dict the long way."""
    keys = tuple(raw)
    plan = _plans.get(keys) or _plan(keys)
    if not plan:
        return None
    found: dict[str, Any] = {}
    for key in plan:
        value = raw[key]
        if type(value) is not str:
            return None
        result = _field(key, value, region, max_year, tables)
        if result is None or type(result) is tuple:  # a phone without a country code warns
            return None
        found[key] = result
    return found


def _field(
    key: str, value: str, region: str | None, max_year: int, tables: memo.Tables
) -> str | tuple[str] | None:
    """One value of the short way (``_short_way``, and the C short way ``_cuserdata`` when its
    own rules do not decide), memo included; a phone without a known country code comes as
    ``(hash,)``: the long way keeps it with a warning."""
    kind = _KINDS[key]
    if kind == _RULE:
        if not value.isascii() or not (text := value.strip()):
            return None
        try:
            return TEXT_RULES[key](text)
        except InvalidField:
            return None
    table = tables[key]
    memo_key: object = memo.digest(value) if kind == _DIGEST else value
    result = table.get(memo_key)
    if result is None:
        if key == "ph":
            return _native_phone(value, region, table, memo_key)
        result = _by_rule(key, value, region, max_year)
        if result is not None:
            memo.remember(table, memo_key, result)
    return result


def _native_phone(
    value: str, region: str | None, table: dict[object, str], memo_key: object
) -> str | tuple[str] | None:
    """``ph`` for ``_field``: the hash (remembered), ``(hash,)`` when the country code is not
    known, None for the long way (a blank, non-ASCII or invalid value)."""
    if not value.isascii() or not (text := value.strip()):
        return None
    try:
        hashed, has_country_code = _phone_hash(text, region)
    except InvalidField:
        return None
    if not has_country_code:
        return (hashed,)
    memo.remember(table, memo_key, hashed)
    return hashed


def _plan(keys: tuple[str, ...]) -> Plan:
    """The keys in Meta's order, or () when a key is unknown (the long way says so)."""
    if not all(key in _RANK for key in keys):
        return ()  # not remembered: unknown keys may be long, and they are rare
    plan = tuple(sorted(keys, key=_RANK.__getitem__))
    if len(_plans) >= MAX_CACHED_PLANS:
        _plans.clear()
    _plans[keys] = plan
    return plan


_KINDS = {
    key: _DIGEST if key in memo.DIGEST_KEYS else _PLAIN if key in memo.PLAIN_KEYS else _RULE
    for key in USER_DATA_ORDER
}


NativeShortWay = Callable[
    [dict[str, Any], str | None, int, memo.Tables, bool],
    dict[str, Any] | tuple[dict[str, Any]] | None,
]


def _load_native() -> NativeShortWay | None:
    """The C short way (``capigate._cuserdata``, built by ``make native``), or None when it was
    not built: the pure short way then runs."""
    try:
        from capigate._cuserdata import normalize, setup
    except ImportError:
        return None
    setup(_field, memo.remember, STATE_TABLE, country_table(), GENDERS, MONTHS, FILLER_WORDS)
    return normalize


_native = _load_native()


def use_native(enabled: bool) -> bool:
    """Take the C short way (when it is built) or the pure one; True if C is now used. For tests
    and comparisons: both give the same results."""
    global _native  # noqa: PLW0603 - one global read on the hot path, switched only by tests
    _native = _load_native() if enabled else None
    return _native is not None


def _long_way(
    raw: Mapping[str, Any], region: str | None, max_birth_year: int, tables: memo.Tables
) -> tuple[dict[str, Any], list[Finding]]:
    """Every value in input order, findings included; output sorted into Meta's order."""
    ctx: _Context | None = None
    found: dict[str, Any] = {}
    for key, value in raw.items():
        table = memo_key = result = None
        if type(value) is str:  # the common case: one lookup, or one rule needing no context
            table = tables.get(key)
            if table is not None:
                memo_key = memo.digest(value) if key in memo.DIGEST_KEYS else value
                result = table.get(memo_key)
                if result is None and key != "ph":  # a phone may come with a warning
                    result = _by_rule(key, value, region, max_birth_year)
                    if result is not None:
                        memo.remember(table, memo_key, result)
            elif key in TEXT_RULES:
                result = _by_rule(key, value, region, max_birth_year)
            if result is not None:
                found[key] = result
                continue
        if ctx is None:
            ctx = _Context(region, max_birth_year, [])
        ctx.settle(found, key, value, table, memo_key)
    return _in_order(found), ctx.findings if ctx is not None else []


def _by_rule(key: str, value: str, region: str | None, max_year: int) -> str | None:
    """``hash_text`` of an ASCII value, the short way; None sends it the long way (which also
    says why a blank, non-ASCII or invalid value gives nothing)."""
    if value.isascii():
        text = value.strip()
        if text:
            try:
                return hash_text(key, text, region, max_year)
            except InvalidField:
                return None
    return None


MAX_CACHED_ORDERS = 1 << 14  # distinct key sets whose canonical order is remembered
_orders: dict[tuple[str, ...], tuple[str, ...]] = {}


def _in_order(found: dict[str, Any]) -> dict[str, Any]:
    """``found`` with its keys in Meta's table order; senders repeat a few key orders, so the
    order of each key set is worked out once (``()`` when it is already canonical)."""
    keys = tuple(found)
    order = _orders.get(keys)
    if order is None:
        order = tuple(sorted(keys, key=_RANK.__getitem__))
        if order == keys:
            order = ()
        if len(_orders) >= MAX_CACHED_ORDERS:
            _orders.clear()
        _orders[keys] = order
    return {key: found[key] for key in order} if order else found
