"""Encoding detection for wholesaler feeds: BOM, then the XML declaration, then a trial of UTF-8,
Windows-1250 and ISO-8859-2 scored by how Polish the decoded text looks.

Windows-1250 and ISO-8859-2 agree on most Polish letters but not on ą, ś, ź, Ą, Ś, Ź; text decoded
with the wrong one shows C1 control characters (ISO-8859-2 reading Windows-1250) or ``±``/``¶``/``Ľ``
where a Polish letter belongs (the other way round), so counting Polish letters and penalising
controls tells them apart on a sample of a few kilobytes.
"""

from __future__ import annotations

import codecs
import re

POLISH_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
CANDIDATES = ("windows-1250", "iso-8859-2")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")

ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "cp1250": "windows-1250",
    "windows1250": "windows-1250",
    "windows-1250": "windows-1250",
    "win1250": "windows-1250",
    "iso-8859-2": "iso-8859-2",
    "iso8859-2": "iso-8859-2",
    "iso8859_2": "iso-8859-2",
    "latin2": "iso-8859-2",
    "latin-2": "iso-8859-2",
}


def canonical(name: str) -> str:
    """A codec name Python and libxml2 both know; raises LookupError for an unknown one."""
    key = name.strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    codecs.lookup(key)
    return key


def declared_xml_encoding(sample: bytes) -> str | None:
    match = _XML_DECL.match(sample)
    return match.group(1).decode("ascii") if match else None


def _decodes(sample: bytes, encoding: str) -> str | None:
    """The sample decoded strictly, tolerating a multi-byte character cut at the sample's end."""
    for cut in range(4):
        try:
            return (sample[: len(sample) - cut] if cut else sample).decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:
                return None
    return None


def polish_score(text: str) -> int:
    score = 0
    for ch in text:
        if ch in POLISH_LETTERS:
            score += 1
        elif "\x80" <= ch <= "\x9f":
            score -= 5
        elif ch in "±¶Ľ¼¦¥¹¿³œŸŒ":  # what the other codec makes of ą ś ź / Polish letters
            score -= 1
    return score


def guess_from_content(sample: bytes) -> str:
    """UTF-8 when the sample is valid UTF-8, else the more Polish of Windows-1250/ISO-8859-2."""
    if _decodes(sample, "utf-8") is not None:
        return "utf-8"
    best, best_score = "windows-1250", None
    for encoding in CANDIDATES:
        text = _decodes(sample, encoding)
        if text is None:
            continue
        score = polish_score(text)
        if best_score is None or score > best_score:
            best, best_score = encoding, score
    return best


def detect(sample: bytes, *, configured: str = "auto", xml: bool = False) -> tuple[str, str]:
    """Return ``(encoding, how)`` for a feed starting with ``sample``.

    ``configured`` other than ``auto`` wins (the profile knows better), except over a BOM. For XML
    a declared encoding is used when the sample really decodes with it; a declaration the content
    contradicts (a Windows-1250 file claiming UTF-8 is common) is overridden by the content.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "BOM"
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", "BOM"
    if configured and configured != "auto":
        return canonical(configured), "profile"
    if xml:
        declared = declared_xml_encoding(sample)
        if declared:
            try:
                name = canonical(declared)
            except LookupError:
                name = None
            if name and _decodes(sample, name) is not None:
                if name in CANDIDATES:
                    # Both single-byte codecs decode anything: trust the declaration only when the
                    # content does not clearly prefer the other one.
                    guessed = guess_from_content(sample)
                    if guessed in CANDIDATES and guessed != name:
                        return guessed, f"content (declared {declared})"
                return name, "declaration"
            return guess_from_content(sample), f"content (declared {declared})"
    return guess_from_content(sample), "content"
