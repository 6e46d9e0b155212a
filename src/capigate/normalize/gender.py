"""``ge``: ``m`` or ``f`` (spec §3.1), from the letters or from a word in English, Russian or Uzbek.

Anything else (``n``, ``other``, ``unknown``) is refused: Meta documents only ``f`` and ``m``, and a
hash of another word can never match, so it is dropped rather than sent.
"""

from __future__ import annotations

from functools import lru_cache

from capigate.errors import InvalidField
from capigate.normalize.geo import lookup_key
from capigate.normalize.text import require, trim

_MALE = (
    "m", "male", "man", "men", "boy", "masculine", "mr", "he",
    "м", "муж", "мужской", "мужчина", "мальчик", "erkak", "эркак", "ogil", "ўғил",
)  # fmt: skip
_FEMALE = (
    "f", "female", "woman", "women", "girl", "feminine", "mrs", "ms", "miss", "she",
    "ж", "жен", "женский", "женщина", "девочка", "ayol", "аёл", "qiz", "қиз",
)  # fmt: skip
GENDERS = {lookup_key(word): "m" for word in _MALE} | {lookup_key(word): "f" for word in _FEMALE}


@lru_cache(maxsize=256)
def normalize_gender(text: str) -> str:
    """``m`` or ``f``, or InvalidField(``ge``, ``gender_unknown``)."""
    code = GENDERS.get(lookup_key(require("ge", trim(text), "gender")))
    if code is None:
        raise InvalidField("ge", "gender_unknown", "gender must be f or m (or a word for them)")
    return code
