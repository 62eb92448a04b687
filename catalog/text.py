"""Text helpers shared by slugs and search: Polish-aware transliteration and normalisation.

Django's ``slugify`` drops characters it cannot decompose, so "Łódź" would become "odz"; here
every Polish letter has its ASCII twin and anything else falls back to Unicode decomposition.
"""

from __future__ import annotations

import re
import unicodedata

POLISH = str.maketrans(
    {
        "ą": "a",
        "ć": "c",
        "ę": "e",
        "ł": "l",
        "ń": "n",
        "ó": "o",
        "ś": "s",
        "ź": "z",
        "ż": "z",
        "Ą": "A",
        "Ć": "C",
        "Ę": "E",
        "Ł": "L",
        "Ń": "N",
        "Ó": "O",
        "Ś": "S",
        "Ź": "Z",
        "Ż": "Z",
        "ß": "ss",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
    }
)


def transliterate(value: str) -> str:
    """ASCII version of ``value``: Polish letters mapped, other accents stripped."""
    value = (value or "").translate(POLISH)
    value = unicodedata.normalize("NFKD", value)
    return value.encode("ascii", "ignore").decode("ascii")


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify_pl(value: str, *, max_length: int = 200) -> str:
    """``"Żółta sukienka, łososiowa!"`` -> ``"zolta-sukienka-lososiowa"``."""
    slug = _NOT_SLUG.sub("-", transliterate(value).lower()).strip("-")
    return slug[:max_length].strip("-")


_SPACES = re.compile(r"\s+")
_SEARCH_JUNK = re.compile(r"[^a-z0-9\s\-./]+")


def normalise_search(value: str) -> str:
    """Lower-case ASCII with single spaces: what ``Product.search_text`` stores and queries use,
    so "zolty" finds "żółty" on every database."""
    value = _SEARCH_JUNK.sub(" ", transliterate(value).lower())
    return _SPACES.sub(" ", value).strip()
