"""The one allow-list for page HTML: what the admin's editor may store and the storefront renders.

Every body is cleaned with nh3 (a Rust HTML sanitiser, html5ever underneath) when it is saved --
through the admin form, the page service or a default text -- so what reaches a template with
``|safe`` has only these tags and attributes: no script, style, iframe, event handler or
``javascript:``/``data:`` link survives.
"""

from __future__ import annotations

import nh3

MAX_BODY_CHARS = 200_000

TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "ul", "ol", "li", "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td",
    "code", "pre",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_cleaner = nh3.Cleaner(
    tags=TAGS,
    attributes=ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def clean_html(html: str) -> str:
    """``html`` reduced to the allow-list (an empty editor paragraph becomes "")."""
    cleaned = _cleaner.clean(html or "").strip()
    return "" if cleaned in ("<p></p>", "<p><br></p>") else cleaned
