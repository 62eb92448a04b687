"""What the storefront reads: a store's published pages, its footer and the legal links of the
checkout. The footer and the links are cached per store (every page shows them) and dropped on
any change to a page or the footer (apps.py connects the invalidation)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from .models import FooterLink, Page

CACHE_SECONDS = 600


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    external: bool


@dataclass(frozen=True)
class Column:
    title: str
    links: tuple[Link, ...]


@dataclass(frozen=True)
class StoreContent:
    columns: tuple[Column, ...]
    legal: dict  # kind -> address of the published page


def cache_key(store_id: int) -> str:
    return f"content:store:{store_id}"


def forget(store_id: int) -> None:
    cache.delete(cache_key(store_id))


def store_content(store) -> StoreContent:
    if store is None or not getattr(store, "pk", None):
        return StoreContent(columns=(), legal={})
    key = cache_key(store.pk)
    found = cache.get(key)
    if found is None:
        found = _load(store)
        cache.set(key, found, CACHE_SECONDS)
    return found


def _load(store) -> StoreContent:
    """Two queries: the published pages and the footer's links with their columns."""
    published = {
        p.pk: p
        for p in Page.objects.filter(store=store, status=Page.Status.PUBLISHED).only(
            "pk", "kind", "title", "slug"
        )
    }
    columns: dict[int, tuple[str, list[Link]]] = {}
    links = (
        FooterLink.objects.filter(column__store=store)
        .select_related("column")
        .order_by("column__position", "column_id", "position", "pk")
    )
    for link in links:
        _title, items = columns.setdefault(link.column_id, (link.column.title, []))
        if link.page_id:
            page = published.get(link.page_id)
            if page is None:  # a draft is never linked
                continue
            items.append(Link(link.label or page.title, page.get_absolute_url(), False))
        else:
            items.append(Link(link.label or link.url, link.url, link.url.startswith(("http:", "https:"))))
    legal = {}
    for page in sorted(published.values(), key=lambda p: p.pk):
        if page.kind != Page.Kind.CUSTOM:
            legal.setdefault(page.kind, page.get_absolute_url())
    return StoreContent(
        columns=tuple(Column(title, tuple(items)) for title, items in columns.values() if items), legal=legal
    )


def visible_page(*, store, slug: str, staff: bool) -> Page | None:
    """The page at ``slug``: published for everyone, a draft only for staff (a preview)."""
    page = Page.objects.filter(store=store, slug=slug).first()
    if page is None or (not page.is_published and not staff):
        return None
    return page
