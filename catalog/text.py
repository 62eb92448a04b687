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


# --- Polish stems for search ---------------------------------------------------------------------
# A light, rule-based stemmer over the transliterated (ASCII) form: one inflectional ending is cut,
# then a fleeting "e" (sweter/swetry, kubek/kubka) and a diminutive "k" / "eczk" (koszulka,
# kubeczek -> koszul, kub) go, and "-ce" becomes "k" (w kurtce -> kurtk-). It is not a
# lemmatiser: it only has to give the word in a product and the word in a query the same stem, or
# the query's a prefix of the product's (queries match stems as word prefixes, see
# ``catalog.selectors.search_products``). No maintained pure-Python Polish stemmer installs from
# PyPI here (pystempel needs packages the index lacks; morfeusz2 is a C++ binding) and
# PostgreSQL 15 ships no Polish dictionary, while the same search has to run on SQLite.

_ENDINGS = sorted(
    {
        "owego",
        "owemu",
        "owymi",
        "owych",
        "owej",
        "owym",
        "owa",
        "owe",
        "owy",
        "owi",
        "ow",
        "iego",
        "iemu",
        "imi",
        "ich",
        "iej",
        "im",
        "ia",
        "ie",
        "ii",
        "iu",
        "io",
        "ego",
        "emu",
        "ymi",
        "ych",
        "ym",
        "ej",
        "ami",
        "ach",
        "om",
        "mi",
        "a",
        "e",
        "i",
        "o",
        "u",
        "y",
    },
    key=len,
    reverse=True,
)
_VOWELS = set("aeiouy")
_MIN_STEM = 3


def stem_pl(word: str) -> str:
    """The search stem of one normalised word: ``"koszulki"``, ``"koszuli"``, ``"koszulka"`` ->
    ``"koszul"``; ``"swetry"``, ``"sweter"`` -> ``"swetr"``; ``"zolta"``, ``"zolty"`` -> ``"zolt"``.
    Words with digits, short words and non-letters are returned as they are."""
    if len(word) < 4 or not word.isalpha() or not word.isascii():
        return word
    stem, ending = word, ""
    for candidate in _ENDINGS:
        if word.endswith(candidate) and len(word) - len(candidate) >= _MIN_STEM:
            stem, ending = word[: -len(candidate)], candidate
            break
    if ending in ("e", "ie") and stem.endswith("c") and len(stem) > _MIN_STEM:
        stem = stem[:-1] + "k"  # kurtce -> kurtk, sukience -> sukienk
    stem = _without_fleeting_e(stem)  # fleeting e: sweter -> swetr, kubek -> kubk
    if stem.endswith("eczk") and len(stem) - 4 >= _MIN_STEM:
        stem = stem[:-4]  # kubeczk -> kub, koszuleczk -> koszul
    elif stem.endswith("k") and len(stem) - 1 >= _MIN_STEM + 1:
        stem = stem[:-1]  # koszulk -> koszul, kurtk -> kurt
        if stem[-1] in "iy" and len(stem) - 1 >= _MIN_STEM + 1:
            stem = stem[:-1]  # -ik/-yk: talerzyk -> talerz, czajnik(a) -> czajn
        stem = _without_fleeting_e(stem)  # sweterk -> sweter -> swetr
    return stem


def _without_fleeting_e(stem: str) -> str:
    if len(stem) > _MIN_STEM + 1 and stem[-2] == "e" and stem[-1] not in _VOWELS and stem[-3] not in _VOWELS:
        return stem[:-2] + stem[-1]
    return stem


def search_stems(value: str) -> list[str]:
    """The distinct stems of the words of ``value`` (normalised first), in order."""
    seen: dict[str, None] = {}
    for word in normalise_search(value).split():
        for part in re.split(r"[^a-z0-9]+", word):
            if part:
                seen.setdefault(stem_pl(part), None)
    return list(seen)
