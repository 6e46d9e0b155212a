"""``fn``, ``ln``, ``ct`` and ``st``: lowercase text without punctuation or spaces, UTF-8 kept.

* ``fn``/``ln``: NFC, lowercase, and every Unicode punctuation, symbol, space, control and
  format character removed, and the apostrophe-like marks ``ʻ ʼ ’ '`` too, so ``O'tkir``,
  ``Oʻtkir`` and ``O’tkir`` all become ``otkir``. Accents and non-Latin scripts are kept
  (``valéry``, ``정``); digits are kept, as Meta's parameter builder keeps them.
* ``ct``: the same, minus digits (Meta's SDK removes them; ``Area 51`` -> ``area``).
* ``st``: letters only. US state names (DC and territories included) and Canadian province names
  become their 2-letter postal codes (``New York`` -> ``ny``, ``Québec`` -> ``qc``), as Meta's
  parameter builder does; any other region keeps its whole name (``toshkent``), never truncated.

A value with nothing left is refused (rule ``empty``) rather than sent as SHA-256 of ``""``.
"""

from __future__ import annotations

from functools import lru_cache

from capigate.normalize.geo import state_code
from capigate.normalize.text import CITY_TABLE, LETTERS_TABLE, NAME_TABLE, require, squeeze, trim


def normalize_first_name(text: str) -> str:
    """``fn``: see the module docstring."""
    return require("fn", squeeze(trim(text), NAME_TABLE), "first name")


def normalize_last_name(text: str) -> str:
    """``ln``: see the module docstring."""
    return require("ln", squeeze(trim(text), NAME_TABLE), "last name")


@lru_cache(maxsize=4096)
def normalize_city(text: str) -> str:
    """``ct``: see the module docstring."""
    return require("ct", squeeze(trim(text), CITY_TABLE), "city")


@lru_cache(maxsize=1024)
def normalize_state(text: str) -> str:
    """``st``: see the module docstring."""
    letters = require("st", squeeze(trim(text), LETTERS_TABLE), "state")
    return state_code(letters) or letters
