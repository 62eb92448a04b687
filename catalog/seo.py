"""What a product, category or group page tells search engines and link previews.

Each of them may carry its own meta title, meta description and H1 (``SeoFields``); empty fields
use the defaults here: the title ``Name — Store``, the description from the plain text of the
page's description cut at a word to 155 characters, the H1 the name.
"""

from __future__ import annotations

import html
import re

from django.templatetags.static import static
from django.utils.html import strip_tags

DESCRIPTION_LIMIT = 155
TITLE_SEPARATOR = " — "

_SPACE = re.compile(r"\s+")


def plain_text(text: str) -> str:
    """Text without tags and entities, on one line."""
    return _SPACE.sub(" ", html.unescape(strip_tags(text or ""))).strip()


def cut_at_word(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """``text`` if it fits in ``limit`` characters, else cut at the last word that fits, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-—") + "…"


def meta_title(obj, store) -> str:
    return (obj.seo_title or "").strip() or f"{obj.name}{TITLE_SEPARATOR}{store.name}"


def meta_description(obj, fallback: str = "") -> str:
    own = plain_text(obj.seo_description)
    if own:
        return own
    return cut_at_word(plain_text(obj.description) or plain_text(fallback) or obj.name)


def heading(obj) -> str:
    return (obj.h1 or "").strip() or obj.name


def breadcrumb_list(store, trail: list[tuple[str, str]]) -> dict:
    """schema.org BreadcrumbList of (name, path) pairs, the home page first."""
    items = [("Home", "/"), *trail]
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": i,
                "name": store.name if i == 1 else name,
                "item": store.absolute_url(path),
            }
            for i, (name, path) in enumerate(items, start=1)
        ],
    }


def organization(store) -> dict:
    """schema.org Organization of the seller: name, address, contact."""
    data = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": store.company_name or store.name,
        "url": store.absolute_url("/"),
        "logo": store.absolute_url(static("img/icon-512.png")),
    }
    if store.support_email:
        data["email"] = store.support_email
    if store.phone:
        data["telephone"] = store.phone
    if store.company_address:
        data["address"] = plain_text(store.company_address)
    if store.company_tax_id:
        data["vatID"] = store.company_tax_id
    return data
