"""Storefront pages: home, category, product group, search, product; alerts; downloads; PWA.

Views are thin: they parse the request, call selectors/services and render. Every query is
scoped to ``request.store``; a slug of another store is a 404.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shop import ratelimit
from shop.storage import private_download

from . import alerts, downloads, gpsr, selectors, seo, units
from .forms import BackInStockForm, ListingFilterForm, clean_query, parse_page
from .images import safe_filename
from .models import Product, ProductGroup, Variant, VatRate
from .pagecache import PRODUCT_PARAMS, PageCache, fragment_context

log = logging.getLogger(__name__)


def cart_add_url() -> str:
    """Where the product page's "add to cart" form posts (``variant`` and ``quantity``)."""
    for name in ("orders:cart-add", "orders:cart_add"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return settings.CATALOG_CART_ADD_URL


# --- Listings ------------------------------------------------------------------------------------


@dataclass
class Listing:
    page: object
    products: list[Product]
    form: ListingFilterForm
    facets: selectors.Facets | None
    sort: str
    selected_attr: set[str]
    problems: list[tuple[int, str]]
    filtered: bool = False  # a price, attribute or availability filter is set


def _listing(
    request, base, *, default_sort="popularity", extra_sorts=None, with_facets=True, facets_key=None
) -> Listing:
    """One page of a listing. The filter problems are returned (not flashed) so that a cached
    page can show them again to the next shopper who sends the same parameters."""
    form = ListingFilterForm(request.GET, default_sort=default_sort, extra_sorts=extra_sorts)
    filters = form.filters()
    qs = selectors.apply_filters(base, filters)
    if filters.sort == "relevance":
        qs = qs.order_by("-rank", "-popularity", "pk")
    else:
        qs = selectors.sort_listing(qs, filters.sort)
    # The page is found as ids first, then the card annotations (cheapest variant, image,
    # availability subqueries) are computed for those rows only: a deep page no longer computes
    # them for every row its OFFSET skips (page 18 of 21: 108 ms -> 4 ms at 10,000 products).
    paginator = Paginator(qs.values_list("pk", flat=True), settings.CATALOG_PAGE_SIZE)
    number = min(parse_page(request.GET.get("page")), paginator.num_pages)
    page = paginator.page(number)
    ids = list(page.object_list)
    position = {pk: i for i, pk in enumerate(ids)}
    cards = selectors.with_card_data(Product.objects.filter(pk__in=ids)) if ids else []
    products = selectors.attach_card_extras(sorted(cards, key=lambda p: position[p.pk]))
    return Listing(
        page=page,
        products=products,
        form=form,
        facets=(selectors.cached_facets(request.store, facets_key, base) if with_facets else None),
        sort=filters.sort,
        selected_attr=form.selected_attr(),
        problems=[(messages.WARNING, str(problem)) for problem in form.problems],
        filtered=bool(
            filters.price_min is not None
            or filters.price_max is not None
            or filters.attrs
            or filters.available_only
        ),
    )


def _canonical(request, path: str, page_number: int = 1) -> str:
    url = request.store.absolute_url(path)
    return f"{url}?page={page_number}" if page_number > 1 else url


@require_GET
def home(request):
    page_cache = PageCache(request, "home", params_names=())
    if (cached := page_cache.full_response()) is not None:
        return cached
    if page_cache.fragment is None:
        store = request.store
        from branding.home import home_sections
        from branding.selectors import brand_for

        if brand_for(store, request).has_home_blocks:  # the home the merchant built from blocks
            body = render_to_string(
                "catalog/_home_body.html",
                fragment_context(page_cache, sections=home_sections(store, page_cache.tree)),
            )
            page_cache.save(page_cache.new_fragment(body=body, canonical=store.absolute_url("/")))
            return page_cache.render("catalog/home.html")
        base = selectors.published_products(store)
        limit = settings.CATALOG_HOME_SECTION_SIZE
        newest = list(selectors.with_card_data(base).order_by("-published_at", "-pk")[:limit])
        popular = list(selectors.with_card_data(base).order_by("-popularity", "-pk")[:limit])
        groups = list(
            ProductGroup.objects.filter(store=store, is_published=True).order_by("position", "name")[:6]
        )
        selectors.attach_card_extras(newest + popular)
        body = render_to_string(
            "catalog/_home_body.html",
            fragment_context(page_cache, newest=newest, popular=popular, groups=groups),
        )
        page_cache.save(page_cache.new_fragment(body=body, canonical=store.absolute_url("/")))
    return page_cache.render("catalog/home.html")


@require_GET
def category(request, slug: str):
    page_cache = PageCache(request, "category", slug)
    if (cached := page_cache.full_response()) is not None:
        return cached
    if page_cache.fragment is None:
        tree = page_cache.tree
        node = tree.by_slug.get(slug)
        if node is None:
            raise Http404
        listing = _listing(
            request,
            selectors.category_products(request.store, tree, node),
            facets_key=(node.id, page_cache.version) if page_cache.version else None,
        )
        row = (
            request.store.categories.filter(pk=node.id)
            .only("name", "slug", "description", "seo_title", "seo_description", "h1")
            .first()
        )
        if row is None:
            raise Http404
        description = row.description if request.GET.get("page") in (None, "1") else ""
        canonical = _canonical(request, node.get_absolute_url(), listing.page.number)
        trail = [*tree.ancestors(node), node]
        head = render_to_string(
            "catalog/_listing_head.html",
            {
                "store": request.store,
                "title": seo.meta_title(row, request.store),
                "description": seo.meta_description(row),
                "canonical": canonical,
                "structured_data": [
                    seo.breadcrumb_list(request.store, [(n.name, n.get_absolute_url()) for n in trail]),
                    seo.organization(request.store),
                ],
            },
        )
        body = render_to_string(
            "catalog/_category_body.html",
            fragment_context(
                page_cache,
                node=node,
                heading=seo.heading(row),
                description=description,
                breadcrumbs=tree.ancestors(node),
                children=node.children,
                listing=listing,
            ),
        )
        page_cache.save(
            page_cache.new_fragment(
                title=seo.meta_title(row, request.store),
                description=seo.meta_description(row),
                canonical=canonical,
                head=head,
                body=body,
                messages=listing.problems,
            )
        )
    return page_cache.render("catalog/category.html")


@require_GET
def group(request, slug: str):
    product_group = get_object_or_404(
        ProductGroup.objects.select_related("store", "rule_category"),
        store=request.store,
        slug=slug,
        is_published=True,
    )
    listing = _listing(request, selectors.group_products(product_group), default_sort="newest")
    for level, text in listing.problems:
        messages.add_message(request, level, text)
    store = request.store
    canonical = _canonical(request, product_group.get_absolute_url(), listing.page.number)
    return render(
        request,
        "catalog/group.html",
        {
            "group": product_group,
            "listing": listing,
            "canonical": canonical,
            "meta_title": seo.meta_title(product_group, store),
            "meta_description": seo.meta_description(product_group),
            "heading": seo.heading(product_group),
            "structured_data": [
                seo.breadcrumb_list(store, [(product_group.name, product_group.get_absolute_url())]),
                seo.organization(store),
            ],
        },
    )


@require_GET
def search(request):
    page_cache = PageCache(request, "search")
    if (cached := page_cache.full_response()) is not None:
        return cached
    query, shortened = clean_query(request.GET.get("q"))
    if page_cache.fragment is None:
        notes = []
        if shortened:
            notes.append(
                (
                    messages.INFO,
                    _("Your search was shortened to %(n)d characters.")
                    % {"n": settings.CATALOG_SEARCH_MAX_LENGTH},
                )
            )
        listing = result = None
        suggestions, popular, categories = [], [], []
        if query:
            result = selectors.search(request.store, query)
            listing = _listing(
                request,
                result.products,
                default_sort="relevance",
                extra_sorts=[("relevance", _("Relevance"))],
                with_facets=False,
            )
            notes += listing.problems
            if not listing.products and not listing.filtered:
                # Nothing at all: other spellings of the query, and the shop's popular products.
                suggestions = selectors.search_suggestions(request.store, query)
                popular = selectors.popular_products(request.store)
                categories = selectors.category_tree(request.store).roots
        body = render_to_string(
            "catalog/_search_body.html",
            fragment_context(
                page_cache,
                query=query,
                listing=listing,
                dropped=" ".join(result.dropped) if result else "",
                suggestions=suggestions,
                popular=popular,
                categories=categories,
            ),
        )
        page_cache.save(
            page_cache.new_fragment(body=body, messages=notes, headers={"X-Robots-Tag": "noindex"})
        )
    return page_cache.render("catalog/search.html", {"query": query})


# --- Product page --------------------------------------------------------------------------------


AVAILABILITY_SCHEMA = {
    "in_stock": "https://schema.org/InStock",
    "low_stock": "https://schema.org/LimitedAvailability",
    "preorder": "https://schema.org/PreOrder",
    "backorder": "https://schema.org/BackOrder",
    "out_of_stock": "https://schema.org/OutOfStock",
}


def _selected_variant(variants: list[Variant], availability, raw) -> Variant | None:
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        wanted = None
    by_id = {v.pk: v for v in variants}
    if wanted in by_id:
        return by_id[wanted]
    for v in variants:
        if availability[v.pk].sellable:
            return v
    return variants[0] if variants else None


def _variant_options(variants: list[Variant], current: Variant, availability) -> list[dict]:
    """Per attribute, the values that exist among active variants, each linking to the variant
    with that value and the current choice of the other attributes (only real combinations)."""
    values_of = {v.pk: {av.attribute_id: av for av in v.attribute_values.all()} for v in variants}
    attributes = {}
    for v in variants:
        for av in v.attribute_values.all():
            attributes.setdefault(av.attribute_id, (av.attribute, {}))[1].setdefault(av.pk, av)
    current_values = values_of.get(current.pk, {})
    result = []
    for attribute_id, (attribute, values) in sorted(
        attributes.items(), key=lambda i: (i[1][0].position, i[0])
    ):
        options = []
        for value in sorted(values.values(), key=lambda av: (av.position, av.value)):
            wanted = {**{a: x.pk for a, x in current_values.items()}, attribute_id: value.pk}
            exact = [v for v in variants if {a: x.pk for a, x in values_of[v.pk].items()} == wanted]
            candidates = exact or [v for v in variants if values_of[v.pk].get(attribute_id) == value]
            target = next((v for v in candidates if availability[v.pk].sellable), candidates[0])
            options.append(
                {
                    "value": value,
                    "variant": target,
                    "selected": current_values.get(attribute_id) == value,
                    "sellable": availability[target.pk].sellable,
                }
            )
        result.append({"attribute": attribute, "options": options})
    return result


def _structured_data(request, page: selectors.ProductPage, image_urls: list[str]) -> dict:
    product = page.product
    store = request.store
    url = store.absolute_url(product.get_absolute_url())
    offers = []
    for v in page.variants:
        offer = {
            "@type": "Offer",
            "sku": v.sku,
            "price": str(v.price),
            "priceCurrency": store.currency,
            "availability": AVAILABILITY_SCHEMA[page.availability[v.pk].status],
            "url": f"{url}?wariant={v.pk}",
            "itemCondition": "https://schema.org/NewCondition",
        }
        if v.ean:
            offer["gtin"] = v.ean
        if v.is_preorder and v.release_date:
            offer["availabilityStarts"] = v.release_date.isoformat()
        offers.append(offer)
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": (product.description or product.name)[:5000],
        "url": url,
        "offers": offers[0] if len(offers) == 1 else offers,
    }
    if image_urls:
        data["image"] = image_urls
    if product.brand:
        data["brand"] = {"@type": "Brand", "name": product.brand}
    if len(page.variants) == 1:
        data["sku"] = page.variants[0].sku
        if page.variants[0].ean:
            data["gtin"] = page.variants[0].ean
    if page.breadcrumbs:
        data["category"] = " > ".join(n.name for n in page.breadcrumbs)
    return data


@require_GET
def product(request, slug: str):
    page_cache = PageCache(request, "product", slug, params_names=PRODUCT_PARAMS)
    if (cached := page_cache.full_response()) is not None:
        return cached
    if page_cache.fragment is None:
        page = selectors.product_page(request.store, slug, tree=page_cache.tree)
        if page is None or not page.variants:
            raise Http404
        current = _selected_variant(page.variants, page.availability, request.GET.get("wariant"))
        availability = page.availability[current.pk]
        images = page.images
        variant_images = [i for i in images if i.variant_id == current.pk]
        gallery = variant_images + [i for i in images if i.variant_id != current.pk]
        image_urls = [request.store.absolute_url(i.image.url) for i in gallery[:6]]
        product_obj = page.product
        store = request.store
        canonical = store.absolute_url(product_obj.get_absolute_url())
        meta_title = seo.meta_title(product_obj, store)
        meta_description = seo.meta_description(product_obj)
        trail = [(n.name, n.get_absolute_url()) for n in page.breadcrumbs]
        trail.append((product_obj.name, product_obj.get_absolute_url()))
        context = fragment_context(
            page_cache,
            page=page,
            product=product_obj,
            variant=current,
            availability=availability,
            omnibus_price=page.omnibus.get(current.pk),
            gallery=gallery,
            options=_variant_options(page.variants, current, page.availability),
            vat_percent=VatRate.percent(product_obj.vat_rate),
            vat_exempt=product_obj.vat_rate == VatRate.EXEMPT,
            cart_add_url=cart_add_url(),
            alert_form=BackInStockForm(initial={"variant": current.pk}),
            structured_data=[
                _structured_data(request, page, image_urls),
                seo.breadcrumb_list(store, trail),
                seo.organization(store),
            ],
            og_image=image_urls[0] if image_urls else "",
            canonical=canonical,
            breadcrumbs=page.breadcrumbs,
            meta_title=meta_title,
            meta_description=meta_description,
            heading=seo.heading(product_obj),
            unit_price=units.unit_price(current.price, current.net_quantity, current.unit),
            safety=gpsr.safety_info(
                product_obj, eans=[v.ean for v in page.variants], absolute_url=store.absolute_url
            ),
        )
        page_cache.save(
            page_cache.new_fragment(
                title=meta_title,
                description=meta_description,
                canonical=canonical,
                head=render_to_string("catalog/_product_head.html", context),
                body=render_to_string("catalog/_product_body.html", context),
                # Plain rows (no prefetched relations) that templates around the fragment may use.
                data=_product_data(page, current, availability),
            )
        )
    return page_cache.render("catalog/product.html")


def _product_data(page: selectors.ProductPage, current: Variant, availability) -> dict:
    """What templates around the cached product fragment (title, marketing events) may use."""
    product_obj = page.product
    product_copy = _bare(
        product_obj, **({"category": _bare(product_obj.category)} if product_obj.category else {})
    )
    return {
        "product": product_copy,
        "variant": _bare(current, product=product_copy),
        "variant_count": len(page.variants),
        "availability": availability,
        "breadcrumbs": [dataclasses.replace(node, children=[]) for node in page.breadcrumbs],
    }


def _bare(obj, **related):
    """A copy of a model instance without its prefetched and cached relations (except
    ``related``), small enough to cache beside a page."""
    clone = copy.copy(obj)
    clone._state = copy.copy(obj._state)
    clone._state.fields_cache = dict(related)
    clone._prefetched_objects_cache = {}
    return clone


# --- Back-in-stock alerts ------------------------------------------------------------------------


def _rate_limited(request) -> bool:
    """At most CATALOG_ALERT_RATE_LIMIT sign-ups per IP per window (the shop's one limiter)."""
    return not ratelimit.allow(
        f"catalog:alert:{ratelimit.client_ip(request)}",
        limit=settings.CATALOG_ALERT_RATE_LIMIT,
        window=settings.CATALOG_ALERT_RATE_WINDOW_SECONDS,
    )


@require_POST
def back_in_stock(request, slug: str):
    product_obj = get_object_or_404(Product, store=request.store, slug=slug, is_published=True)
    form = BackInStockForm(request.POST)
    url = product_obj.get_absolute_url()
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
        return redirect(url)
    variant = (
        Variant.objects.filter(pk=form.cleaned_data["variant"], product=product_obj, is_active=True)
        .select_related("product", "store")
        .first()
    )
    if variant is None:
        messages.error(request, _("Choose a variant of this product."))
        return redirect(url)
    url = f"{url}?wariant={variant.pk}"
    if _rate_limited(request):
        messages.error(request, _("Too many requests. Please try again later."))
        return redirect(url)
    from .stock import availability

    if availability(variant).sellable:
        messages.info(request, _("Good news: this variant is available, you can order it now."))
        return redirect(url)
    alerts.subscribe(
        variant=variant, email=form.cleaned_data["email"], language=translation.get_language() or "pl"
    )
    messages.success(request, _("Check your inbox: we sent you a link to confirm the alert."))
    return redirect(url)


@never_cache
@require_http_methods(["GET", "POST"])
def alert_confirm(request, token: str):
    """GET shows a page with a button and writes nothing (mail scanners follow links); the
    button's POST (CSRF-protected, so a real visit to the page) confirms."""
    sub = alerts.subscription_for_confirm(token)
    if sub is None or sub.variant.store_id != request.store.pk:
        return render(request, "catalog/alert_result.html", {"ok": False}, status=400)
    if request.method == "POST":
        sub = alerts.confirm(token)
    if sub.confirmed_at is not None:
        return render(request, "catalog/alert_result.html", {"ok": True, "sub": sub, "confirmed": True})
    return render(request, "catalog/alert_confirm.html", {"sub": sub})


@never_cache
@require_http_methods(["GET", "POST"])
def alert_unsubscribe(request, token: str):
    """A link we signed whose wish is gone (sent or cancelled) answers "nothing to cancel"; a
    tampered link, or another store's, is refused (400) like the other signed links."""
    sub = alerts.subscription_for_unsubscribe(token)
    if not alerts.is_unsubscribe_token(token) or (
        sub is not None and sub.variant.store_id != request.store.pk
    ):
        return render(request, "catalog/alert_result.html", {"ok": False}, status=400)
    if request.method == "POST":
        if sub is not None:
            alerts.unsubscribe(token)
        return render(request, "catalog/alert_result.html", {"ok": True, "unsubscribed": True})
    return render(request, "catalog/alert_unsubscribe.html", {"sub": sub})


# --- Digital downloads ---------------------------------------------------------------------------


@never_cache
@require_GET
def download(request, token: str):
    grant = downloads.grant_from_token(token, store=request.store)
    if grant is None:
        raise Http404
    asset = grant.asset
    if not asset.file or not asset.file.storage.exists(asset.file.name):
        log.error("Digital asset %s has no file", asset.pk)
        raise Http404
    try:
        result = downloads.use_grant(grant)
    except downloads.DownloadRefused as refused:
        return render(
            request,
            "catalog/download_gone.html",
            {"reason": refused.reason, "grant": refused.grant},
            status=410,
        )
    name = safe_filename(result.asset.file.name, default_stem="download")
    # Streamed from storage, or a redirect to a presigned link of at most 5 minutes (shop/storage.py).
    response = private_download(result.asset.file.name, filename=name, storage=result.asset.file.storage)
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- SEO and PWA ---------------------------------------------------------------------------------


@require_GET
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /koszyk/",
        "Disallow: /zamowienie/",
        "Disallow: /konto/",
        "Disallow: /szukaj/",
        "Disallow: /pobierz/",
        "Disallow: /powiadomienia/",
        "",
        f"Sitemap: {request.store.absolute_url('/sitemap.xml')}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


@cache_control(max_age=3600)
@require_GET
def manifest(request):
    """The web app manifest: the store's name, colours and the icons made from its logo."""
    from branding.selectors import brand_for

    store = request.store
    brand = brand_for(store, request)
    icons = brand.icon_links
    data = {
        "name": store.name,
        "short_name": store.name[:12],
        "lang": store.default_language,
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "background_color": brand.background,
        "theme_color": brand.primary,
        "icons": [
            {"src": icons["icon_192"], "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": icons["icon_512"], "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": icons["maskable_512"], "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    return JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )


@require_GET
def service_worker(request):
    """The service worker, served at the root so its scope is the whole shop."""
    shell = [
        static("css/shop.css"),
        static("js/shop.js"),
        static("img/icon-192.png"),
        reverse("catalog:offline"),
    ]
    version = hashlib.sha256("|".join([*shell, settings.CATALOG_SW_VERSION]).encode()).hexdigest()[:12]
    body = render_to_string(
        "catalog/pwa/sw.js",
        {"version": version, "shell": shell, "offline_url": reverse("catalog:offline")},
    )
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request):
    return render(request, "catalog/offline.html")
