"""Text as partners accept it: plain, free of characters XML cannot carry, within length limits.

Catalog text is written by merchants and wholesalers: it may hold HTML, ``<script>``, control
characters pasted from spreadsheets, ``]]>`` or 10,000-character names. Everything that goes into a
feed passes through :func:`plain_text` or :func:`one_line`, so a feed is well-formed whatever the
catalog holds.
"""

from __future__ import annotations

import html
import re

# Characters XML 1.0 cannot carry (C0 controls except tab/newline/return, lone surrogates, the two
# non-characters) plus DEL and the C1 controls, which partners reject as garbage.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_HIDDEN_BLOCKS = re.compile(r"<\s*(script|style|template|iframe|object)\b.*?<\s*/\s*\1\s*>", re.S | re.I)
_BREAKS = re.compile(r"<\s*(?:br|/p|/li|/div|/h[1-6]|/tr|/ul|/ol|/table)\b[^>]*>", re.I)
_TAGS = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_WHITESPACE = re.compile(r"\s+")

# Text without any of these needs no HTML or character clean-up (the common case: fast path).
_NEEDS_CLEANING = re.compile("[<>&\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u00a0\u2000-\u200b\u3000]")

# Hostile input is cut before the regular expressions see it, so their cost stays bounded.
_READ_FACTOR = 8


def strip_invalid(value: str) -> str:
    return _NOT_XML.sub("", value)


def truncate(value: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary when one is near the end."""
    if len(value) <= limit:
        return value
    cut = value[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip()


def plain_text(value: str | None, *, limit: int) -> str:
    """HTML or text to plain text with line breaks kept, at most ``limit`` characters."""
    if not value:
        return ""
    text = str(value)[: limit * _READ_FACTOR]
    text = _HIDDEN_BLOCKS.sub(" ", text)
    text = _BREAKS.sub("\n", text)
    text = _TAGS.sub(" ", text)
    text = html.unescape(text)
    text = strip_invalid(text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return truncate(text, limit)


def one_line(value: str | None, *, limit: int) -> str:
    """Plain text on one line (names, titles, attribute values, TSV cells)."""
    if not value:
        return ""
    value = str(value)
    if _NEEDS_CLEANING.search(value, 0, limit * _READ_FACTOR) is None:
        return truncate(" ".join(value[: limit * _READ_FACTOR].split()), limit)
    return truncate(_WHITESPACE.sub(" ", plain_text(value, limit=limit * 2)).strip(), limit)


def tsv_cell(value: str) -> str:
    """A TSV cell cannot hold tabs or line breaks."""
    return _WHITESPACE.sub(" ", value).strip()
