"""ISO 4217 currency codes, read once from the list shipped in ``capigate/data/iso4217.tsv``."""

from __future__ import annotations

from importlib import resources

# In ISO 4217 but not money: "no currency" and "reserved for testing".
NON_CURRENCY_CODES = frozenset({"XXX", "XTS"})


def _load_codes() -> frozenset[str]:
    text = resources.files("capigate").joinpath("data/iso4217.tsv").read_text(encoding="utf-8")
    codes = (line.split("\t", 1)[0] for line in text.splitlines())
    return frozenset(code for code in codes if code and not code.startswith("#"))


ISO_4217_CODES = _load_codes() - NON_CURRENCY_CODES


def is_currency(code: str) -> bool:
    """True for an ISO 4217 alpha-3 code in any case (Meta treats ``usd`` and ``USD`` alike)."""
    return len(code) == 3 and code.upper() in ISO_4217_CODES
