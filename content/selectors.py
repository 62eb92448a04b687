"""What the storefront reads: a store's published pages, its footer and the legal links of the
checkout. The footer and the links are cached per store (every page shows them) and dropped on
any change to a page or the footer (apps.py connects the invalidation)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache

from .models import FooterLink, Page

CACHE_SECONDS = 600
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    external: bool


@dataclass(frozen=True)
class Column:
    title: str
    links: tuple[Link, ...]


def _keys(store_id: int) -> tuple[str, str]:
    return f"content:footer:{store_id}", f"content:legal:{store_id}"


def forget(store_id: int) -> None:
    try:
        cache.delete_many(list(_keys(store_id)))
    except Exception:  # a cache outage: entries expire after CACHE_SECONDS anyway
        log.warning("Could not drop the cached footer of store %s", store_id, exc_info=True)


def _cached(key: str, load):
    try:
        found = cache.get(key)
    except Exception:  # the cache is down: the page still renders, from the database
        return load()
    if found is None:
        found = load()
        try:
            cache.set(key, found, CACHE_SECONDS)
        except Exception:
            log.debug("Could not cache %s", key, exc_info=True)
    return found


def footer_columns(store) -> tuple[Column, ...]:
    """The footer's columns with their visible links (one query when not cached)."""
    if store is None or not getattr(store, "pk", None):
        return ()
    return _cached(_keys(store.pk)[0], lambda: _load_footer(store))


def legal_urls(store) -> dict[str, str]:
    """``{"terms": "/strona/regulamin/", ...}``: the addresses of the store's published standard
    pages (one query when not cached)."""
    if store is None or not getattr(store, "pk", None):
        return {}
    return _cached(_keys(store.pk)[1], lambda: _load_legal(store))


def _load_footer(store) -> tuple[Column, ...]:
    columns: dict[int, tuple[str, list[Link]]] = {}
    links = (
        FooterLink.objects.filter(column__store=store)
        .select_related("column", "page")
        .order_by("column__position", "column_id", "position", "pk")
    )
    for link in links:
        _title, items = columns.setdefault(link.column_id, (link.column.title, []))
        if link.page_id:
            if not link.page.is_published:  # a draft is never linked
                continue
            items.append(Link(link.label or link.page.title, link.page.get_absolute_url(), False))
        else:
            items.append(Link(link.label or link.url, link.url, link.url.startswith(("http:", "https:"))))
    return tuple(Column(title, tuple(items)) for title, items in columns.values() if items)


def _load_legal(store) -> dict[str, str]:
    legal: dict[str, str] = {}
    published = (
        Page.objects.filter(store=store, status=Page.Status.PUBLISHED)
        .exclude(kind=Page.Kind.CUSTOM)
        .only("kind", "slug")
        .order_by("pk")
    )
    for page in published:
        legal.setdefault(page.kind, page.get_absolute_url())
    return legal


def visible_page(*, store, slug: str, staff: bool) -> Page | None:
    """The page at ``slug``: published for everyone, a draft only for staff (a preview)."""
    page = Page.objects.filter(store=store, slug=slug).first()
    if page is None or (not page.is_published and not staff):
        return None
    return page
