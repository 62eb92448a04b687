"""Cached storefront fragments under a per-store catalog version.

The expensive part of a catalog page (its listing or product body, the facets, the JSON-LD) is
the same for every shopper who sees the same store, language and query, so it is rendered once
and kept in the cache. What belongs to one shopper (the header's cart badge and account link,
CSRF tokens, flash messages, the language switch) is rendered around it on every request.

Correctness rests on one number per store, the *catalog version*: every change to what a
fragment can show (products, variants, prices, stock, reservations, images, categories,
relations, publication, the store itself) bumps it, and a fragment is only served when it was
built under the current version. The bump happens at once *and* again when the transaction
commits, so a page rebuilt from the old rows between the two is never served afterwards.

A warm page costs one cache round trip (``get_many`` of the version, the fragment and the
category tree) after the store lookup, and no SQL. Entries expire after
``CATALOG_PAGE_CACHE_SECONDS``, which also bounds how long a reservation that ran out (and was
not swept yet) keeps showing its units as held.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

log = logging.getLogger(__name__)

# Rendered in place of the CSRF token inside cached fragments and replaced per request. Letters
# and digits only, so template escaping leaves it untouched.
CSRF_PLACEHOLDER = "kOSZYKcsrfPLACEHOLDERd41d8cd98f00b204e9800998ecf8427e"

# The query parameters that change a catalog page. Anything else (utm_*, fbclid, gclid, ...)
# neither splits the cache nor reaches the cached HTML.
LISTING_PARAMS = ("q", "sort", "price_min", "price_max", "attr", "available", "page")
PRODUCT_PARAMS = ("wariant",)


def version_key(store_id: int) -> str:
    return f"catalog:version:{store_id}"


def _fresh_version() -> int:
    # Never a small counter: after an eviction or a flush the version must not come back to a
    # value that old fragments were built under.
    return time.time_ns()


def _bump_now(store_id: int) -> None:
    key = version_key(store_id)
    try:
        cache.incr(key)
    except ValueError:  # missing (first change, or evicted): any fresh value invalidates
        cache.set(key, _fresh_version(), None)
    except Exception:  # a cache outage must not break a write; entries expire anyway
        log.exception("Could not bump the catalog version of store %s", store_id)


def bump(store_id: int | None) -> None:
    """Invalidate every cached page of a store: now, and again when the transaction commits."""
    if store_id is None:
        return
    _bump_now(store_id)
    transaction.on_commit(lambda: _bump_now(store_id))


def bump_many(store_ids) -> None:
    for store_id in {s for s in store_ids if s is not None}:
        bump(store_id)


def current_version(store_id: int) -> int:
    key = version_key(store_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, _fresh_version(), None)
        version = cache.get(key)
    return version


@dataclass
class Fragment:
    """What a catalog page caches: rendered HTML pieces and a few plain values."""

    version: int
    title: str = ""
    description: str = ""
    canonical: str = ""
    head: str = ""
    body: str = ""
    messages: list[tuple[int, str]] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


# Cookies that do not make a page someone's own: the language choice is part of every key and the
# CSRF token is put in per request. A session (cart, login, flash messages), a consent choice or
# any other cookie means the page is built around the cached body instead.
ANONYMOUS_COOKIES = frozenset({settings.LANGUAGE_COOKIE_NAME, settings.CSRF_COOKIE_NAME})

_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def full_page_key(store_id: int, language: str, full_path: str) -> str:
    digest = hashlib.sha256(full_path.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"catalog:full:{store_id}:{language}:{digest}"


def normalised_params(request, names) -> list[tuple[str, list[str]]]:
    """The page-changing parameters of a request, in a stable order (values kept as sent; the
    key hashes them, so no length is cut and two different values never share a page)."""
    out = []
    for name in names:
        values = request.GET.getlist(name)
        if values:
            out.append((name, sorted(values)))
    return out


def fragment_key(store_id: int, language: str, page: str, ident: str, params) -> str:
    digest = hashlib.sha256(repr((ident, params)).encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"catalog:page:{store_id}:{language}:{page}:{digest}"


class PageCache:
    """One page's cache look-up: a single ``get_many`` for the version, the fragment and the tree.

    ``fragment`` is the cached entry when it is current, else None (build it, then ``save``).
    """

    def __init__(self, request, page: str, ident: str = "", params_names=LISTING_PARAMS):
        from .services import category_tree_key

        self.request = request
        store = request.store
        self.enabled = settings.CATALOG_PAGE_CACHE_SECONDS > 0
        language = translation.get_language() or settings.LANGUAGE_CODE
        self.params = normalised_params(request, params_names)
        self.key = fragment_key(store.pk, language, page, ident, self.params)
        self._version_key = version_key(store.pk)
        self._nav_key = f"catalog:nav:{store.pk}:{language}"
        tree_key = category_tree_key(store.pk)
        self.fragment: Fragment | None = None
        self._nav = None
        self._page = None
        # A visitor without cookies (a first visit: search engines, ads, links) has nothing of
        # their own on the page but a CSRF token: the whole page is cached for them too.
        self.full_key = None
        if self.enabled and request.method == "GET" and set(request.COOKIES) <= ANONYMOUS_COOKIES:
            self.full_key = full_page_key(store.pk, language, request.get_full_path())
        keys = [self._version_key, self.key, self._nav_key, tree_key] if self.enabled else [tree_key]
        if self.full_key:
            keys.append(self.full_key)
        try:
            values = cache.get_many(keys)
        except Exception:
            log.exception("Catalog page cache unavailable")
            values, self.enabled = {}, False
        # The tree is built only if the page needs it (not for a whole cached page).
        request._catalog_tree_rows = values.get(tree_key)
        if not self.enabled:
            self.version = None
            return
        self.version = values.get(self._version_key)
        if self.version is None:
            try:
                self.version = current_version(store.pk)
            except Exception:
                log.exception("Catalog page cache unavailable")
                self.version, self.enabled = None, False
                return
        cached = values.get(self.key)
        if isinstance(cached, Fragment) and cached.version == self.version:
            self.fragment = cached
        nav = values.get(self._nav_key)
        if isinstance(nav, tuple) and len(nav) == 2 and nav[0] == self.version:
            self._nav = nav[1]
        page = values.get(self.full_key) if self.full_key else None
        if isinstance(page, tuple) and len(page) == 3 and page[0] == self.version:
            self._page = page

    def full_response(self) -> HttpResponse | None:
        """The whole cached page for a visitor without cookies, with their own CSRF token."""
        if self._page is None:
            return None
        _version, body, headers = self._page
        if CSRF_PLACEHOLDER in body:
            body = body.replace(CSRF_PLACEHOLDER, get_token(self.request))
        response = HttpResponse(body)
        for name, value in headers.items():
            response.headers[name] = value
        return response

    def _save_full_page(self, response) -> None:
        if not self.full_key or response.status_code != 200 or self.fragment.messages:
            return
        storage = getattr(self.request, "_messages", None)
        if storage is not None and getattr(storage, "_queued_messages", None):
            return
        body = _CSRF_INPUT.sub(rf"\g<1>{CSRF_PLACEHOLDER}\g<2>", response.content.decode(response.charset))
        headers = {"Content-Type": response.headers["Content-Type"], **self.fragment.headers}
        try:
            cache.set(self.full_key, (self.version, body, headers), settings.CATALOG_PAGE_CACHE_SECONDS)
        except Exception:
            log.exception("Could not store a catalog page")

    def nav_html(self) -> str | None:
        """The category menu of the page header, rendered once per catalog version and language
        (it is the same for every shopper); None when the cache is off (base.html renders it)."""
        if not self.enabled:
            return None
        if self._nav is None:
            self._nav = render_to_string("catalog/_nav.html", {"nav_categories": self.tree.roots})
            try:
                cache.set(self._nav_key, (self.version, self._nav), settings.CATALOG_PAGE_CACHE_SECONDS)
            except Exception:
                log.exception("Could not store the category menu")
        return self._nav

    @property
    def tree(self):
        from .selectors import category_tree

        return request_tree(self.request, category_tree)

    def new_fragment(self, **kwargs) -> Fragment:
        return Fragment(version=self.version or 0, **kwargs)

    def save(self, fragment: Fragment) -> Fragment:
        self.fragment = fragment
        if self.enabled:
            try:
                cache.set(self.key, fragment, settings.CATALOG_PAGE_CACHE_SECONDS)
            except Exception:
                log.exception("Could not store a catalog page fragment")
        return fragment

    def render(self, template: str, context: dict | None = None):
        """The page: the shopper's own header and messages around the (cached) fragment."""
        request = self.request
        fragment = self.fragment
        for level, text in fragment.messages:
            messages.add_message(request, level, text)
        body = fragment.body
        if CSRF_PLACEHOLDER in body:
            body = body.replace(CSRF_PLACEHOLDER, get_token(request))
        page_context = {
            "fragment": fragment,
            "fragment_head": mark_safe(fragment.head),  # rendered by our own templates
            "fragment_body": mark_safe(body),  # rendered by our own templates
            "canonical": fragment.canonical,
            "nav_html": None if (nav := self.nav_html()) is None else mark_safe(nav),
            **fragment.data,
            **(context or {}),
        }
        response = render(request, template, page_context)
        for name, value in fragment.headers.items():
            response.headers[name] = value
        self._save_full_page(response)
        return response


def request_tree(request, category_tree):
    """The category tree for this request: built once, from the rows the page's cache look-up
    brought along when it did, else through ``category_tree`` (its own cache, then SQL)."""
    tree = getattr(request, "_catalog_tree", None)
    if tree is None:
        rows = getattr(request, "_catalog_tree_rows", None)
        if rows is not None:
            from .selectors import CategoryTree

            tree = CategoryTree(rows)
        else:
            tree = category_tree(request.store)
        request._catalog_tree = tree
    return tree


def fragment_context(page_cache: PageCache, **context) -> dict:
    """The context a cached fragment is rendered with: the store, the page-changing query
    parameters (part of the key) and a CSRF placeholder; no request, user, session or cart, so
    nothing about one shopper can end up in the cache."""
    query = QueryDict(mutable=True)
    for name, values in page_cache.params:
        query.setlist(name, values)
    return {
        "store": page_cache.request.store,
        "query_params": query,
        "csrf_token": CSRF_PLACEHOLDER,
        **context,
    }


# --- Invalidation on row changes -----------------------------------------------------------------
# Saves and deletes of single rows (the admin, services, factories, shells) bump through these
# receivers; bulk writes (``update()``, ``bulk_create``) bump explicitly in catalog.services and
# catalog.stock. They are cache bookkeeping, not business events: a rollback after the immediate
# bump only costs a rebuild.


def _store_of(instance) -> int | None:
    from shop.models import Store

    from .models import AttributeValue, PriceHistory, ProductImage, SetComponent, StockItem, StockReservation

    if isinstance(instance, Store):
        return instance.pk
    store_id = getattr(instance, "store_id", None)
    if store_id is not None:
        return store_id
    if isinstance(instance, ProductImage):
        return _cached_or_query(instance, "product", "store_id")
    if isinstance(instance, AttributeValue):
        return _cached_or_query(instance, "attribute", "store_id")
    if isinstance(instance, SetComponent):
        return _cached_or_query(instance, "set_product", "store_id")
    if isinstance(instance, StockItem | StockReservation | PriceHistory):
        return _cached_or_query(instance, "variant", "store_id")
    return None


def _cached_or_query(instance, relation: str, attribute: str):
    related = instance._state.fields_cache.get(relation)
    if related is not None:
        return getattr(related, attribute)
    field = type(instance)._meta.get_field(relation)
    related_id = getattr(instance, field.attname)
    if related_id is None:
        return None
    return field.related_model.objects.filter(pk=related_id).values_list(attribute, flat=True).first()


def _on_row_change(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata
        return
    bump(_store_of(instance))


def _on_links_change(sender, instance, action, pk_set=None, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        bump(_store_of(instance))


def connect_signals() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from shop.models import Store

    from .models import (
        Attribute,
        AttributeValue,
        Category,
        Manufacturer,
        PriceHistory,
        Product,
        ProductGroup,
        ProductImage,
        ResponsiblePerson,
        SearchSynonym,
        SetComponent,
        StockItem,
        StockReservation,
        Variant,
        Warehouse,
    )

    saved = [
        Store,
        Product,
        Variant,
        Category,
        ProductImage,
        ProductGroup,
        Attribute,
        AttributeValue,
        SetComponent,
        StockItem,
        StockReservation,
        PriceHistory,
        Warehouse,
        SearchSynonym,
        Manufacturer,  # shown in the product page's safety section
        ResponsiblePerson,
    ]
    # Deletes: not for stock items, reservations and price history, whose bulk deletes would lose
    # Django's fast path (their owners' deletes and catalog.stock bump instead).
    deleted = [
        Product,
        Variant,
        Category,
        ProductImage,
        ProductGroup,
        Attribute,
        AttributeValue,
        SetComponent,
        Warehouse,
        SearchSynonym,
        Manufacturer,
        ResponsiblePerson,
    ]
    for model in saved:
        post_save.connect(_on_row_change, sender=model, dispatch_uid=f"pagecache.save.{model.__name__}")
    for model in deleted:
        post_delete.connect(_on_row_change, sender=model, dispatch_uid=f"pagecache.delete.{model.__name__}")
    for through in (
        Product.related.through,
        Product.recommended.through,
        Variant.attribute_values.through,
        ProductGroup.products.through,
    ):
        m2m_changed.connect(
            _on_links_change, sender=through, dispatch_uid=f"pagecache.links.{through.__name__}"
        )
