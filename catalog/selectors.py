"""Catalog reads shaped for the storefront's pages.

Every function here costs a constant number of queries whatever the catalog size: listings carry
their card data (cheapest variant, its compare-at price, the first image, availability) as
annotations instead of per-product queries, and the category tree is cached per store. The
availability annotation comes from :mod:`catalog.availability` (the SQL form of
:mod:`catalog.stock`'s rule).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from shop.models import Store

from . import stock
from .availability import available_sql_annotation
from .models import (
    AttributeValue,
    Category,
    PriceHistory,
    Product,
    ProductGroup,
    ProductImage,
    SetComponent,
    Variant,
)
from .services import category_tree_key
from .text import normalise_search

# --- The category tree (cached) ------------------------------------------------------------------


@dataclass
class CategoryNode:
    id: int
    name: str
    slug: str
    parent_id: int | None
    path: str
    depth: int
    children: list[CategoryNode] = field(default_factory=list)
    url: str = ""

    def get_absolute_url(self) -> str:
        # Reversed once when the tree is cached: the menu on every page links to each top category.
        return self.url or reverse("catalog:category", kwargs={"slug": self.slug})

    def __str__(self) -> str:
        return self.name


class CategoryTree:
    """The published categories of one store, as nodes; built from one cached query."""

    def __init__(self, rows: list[dict]):
        self.by_id: dict[int, CategoryNode] = {}
        for r in rows:
            self.by_id[r["id"]] = CategoryNode(
                r["id"], r["name"], r["slug"], r["parent_id"], r["path"], r["depth"], url=r.get("url", "")
            )
        self.roots: list[CategoryNode] = []
        hidden: set[int] = set()
        for node in self.by_id.values():  # rows come ordered by path: parents first
            if node.parent_id is None:
                self.roots.append(node)
            elif node.parent_id in self.by_id and node.parent_id not in hidden:
                self.by_id[node.parent_id].children.append(node)
            else:
                hidden.add(node.id)  # under an unpublished parent: not reachable
        for node_id in hidden:
            del self.by_id[node_id]
        self.by_slug = {n.slug: n for n in self.by_id.values()}

    def ancestors(self, node: CategoryNode) -> list[CategoryNode]:
        ids = [int(x) for x in node.path.strip("/").split("/") if x]
        return [self.by_id[i] for i in ids[:-1] if i in self.by_id]

    def subtree_ids(self, node: CategoryNode) -> list[int]:
        out, todo = [], [node]
        while todo:
            n = todo.pop()
            out.append(n.id)
            todo.extend(n.children)
        return out


def category_tree(store: Store) -> CategoryTree:
    """The store's published category tree; cached until a category changes (services forget it)."""
    key = category_tree_key(store.pk)
    try:
        rows = cache.get(key)
    except Exception:  # the cache is down: build the tree from the database
        rows, key = None, None
    if rows is None:
        rows = list(
            Category.objects.filter(store=store, is_published=True)
            .order_by("depth", "position", "name")
            .values("id", "name", "slug", "parent_id", "path", "depth")
        )
        for row in rows:
            row["url"] = reverse("catalog:category", kwargs={"slug": row["slug"]})
        if key is not None:
            cache.set(key, rows, settings.CATALOG_NAV_CACHE_SECONDS)
    return CategoryTree(rows)


# --- Listings ------------------------------------------------------------------------------------


SORTS = {
    "popularity": ("-popularity", "-published_at", "-pk"),
    "newest": ("-published_at", "-pk"),
    "price": ("min_price", "-pk"),
    "price_desc": ("-min_price", "-pk"),
    "name": ("name", "pk"),
}


def published_products(store: Store) -> QuerySet[Product]:
    """Published products of a store that have at least one active variant."""
    return Product.objects.filter(store=store, is_published=True, min_price__isnull=False)


def with_card_data(qs: QuerySet[Product], *, now: datetime | None = None) -> QuerySet[Product]:
    """Annotate what a product card shows, so a page of cards is one query."""
    cheapest = Variant.objects.filter(product_id=OuterRef("pk"), is_active=True).order_by(
        "price", "position", "pk"
    )
    first_image = ProductImage.objects.filter(product_id=OuterRef("pk")).order_by("position", "pk")
    annotations = {
        "card_variant_id": Subquery(cheapest.values("pk")[:1]),
        "card_compare_at": Subquery(cheapest.values("compare_at_price")[:1]),
        "card_image": Subquery(first_image.values("image")[:1]),
        "card_variant_count": Coalesce(
            Subquery(
                Variant.objects.filter(product_id=OuterRef("pk"), is_active=True)
                .values("product_id")
                .annotate(n=Sum(Value(1)))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        "is_preorder": RawSQL(
            '(SELECT 1 FROM catalog_variant pv WHERE pv.product_id = "catalog_product"."id"'
            " AND pv.is_active AND pv.is_preorder LIMIT 1) IS NOT NULL",
            [],
            output_field=BooleanField(),
        ),
        "is_available": available_sql_annotation(now),
    }
    if "is_available" in qs.query.annotations:  # already there for the "available only" filter
        del annotations["is_available"]
    return qs.annotate(**annotations).only(
        "pk",
        "name",
        "slug",
        "kind",
        "min_price",
        "popularity",
        "published_at",
        "brand",
        "store_id",
        "category_id",
    )


@dataclass
class ListingFilters:
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    attrs: dict[str, list[str]] = field(default_factory=dict)  # attribute slug -> value slugs
    available_only: bool = False
    sort: str = "popularity"


def apply_filters(qs: QuerySet[Product], filters: ListingFilters) -> QuerySet[Product]:
    if filters.price_min is not None:
        qs = qs.filter(min_price__gte=filters.price_min)
    if filters.price_max is not None:
        qs = qs.filter(min_price__lte=filters.price_max)
    for attribute_slug, value_slugs in filters.attrs.items():
        qs = qs.filter(
            Exists(
                Variant.objects.filter(
                    product_id=OuterRef("pk"),
                    is_active=True,
                    attribute_values__attribute__slug=attribute_slug,
                    attribute_values__slug__in=value_slugs,
                )
            )
        )
    if filters.available_only:
        if "is_available" not in qs.query.annotations:
            qs = qs.annotate(is_available=available_sql_annotation())
        qs = qs.filter(is_available=True)
    return qs


def sort_listing(qs: QuerySet[Product], sort: str) -> QuerySet[Product]:
    return qs.order_by(*SORTS.get(sort, SORTS["popularity"]))


@dataclass
class Facets:
    attributes: list[tuple[object, list[AttributeValue]]]
    price_min: Decimal | None
    price_max: Decimal | None


def facets(base: QuerySet[Product]) -> Facets:
    """Attribute values and the price range present in a listing (before its own filters): two
    queries.

    The values are found as a semi-join on the variant/value link table (``id IN (SELECT ...)``)
    rather than a ``DISTINCT`` over the joined rows: PostgreSQL then hashes a few thousand small
    ids instead of sorting every variant's wide value-and-attribute row.
    """
    links = Variant.attribute_values.through.objects.filter(
        variant__product_id__in=base.values("pk"), variant__is_active=True
    ).values("attributevalue_id")
    values = (
        AttributeValue.objects.filter(pk__in=links)
        .select_related("attribute")
        .order_by("attribute__position", "attribute__name", "position", "value")
    )
    grouped: dict[int, list[AttributeValue]] = defaultdict(list)
    attributes = {}
    for v in values:
        grouped[v.attribute_id].append(v)
        attributes[v.attribute_id] = v.attribute
    prices = base.aggregate(lo=Min("min_price"), hi=Max("min_price"))
    return Facets([(attributes[a], vs) for a, vs in grouped.items()], prices["lo"], prices["hi"])


def cached_facets(store: Store, key, base: QuerySet[Product]) -> Facets:
    """:func:`facets` of a listing, cached under ``key`` (which must carry the store's catalog
    version, see :mod:`catalog.pagecache`): every page and filter combination of one category
    shares them, so only the first page view after a change pays for the facet queries."""
    if key is None:
        return facets(base)
    cache_key = "catalog:facets:{}:{}".format(store.pk, ":".join(str(part) for part in key))
    try:
        found = cache.get(cache_key)
    except Exception:
        return facets(base)
    if isinstance(found, Facets):
        return found
    result = facets(base)
    cache.set(cache_key, result, settings.CATALOG_PAGE_CACHE_SECONDS)
    return result


def category_products(store: Store, tree: CategoryTree, node: CategoryNode) -> QuerySet[Product]:
    return published_products(store).filter(category_id__in=tree.subtree_ids(node))


def group_products(group: ProductGroup) -> QuerySet[Product]:
    """The products of a curated or rule-based group."""
    qs = published_products(group.store)
    if group.kind == ProductGroup.Kind.CURATED:
        return qs.filter(pk__in=group.products.values("pk"))
    if group.rule_new_days:
        qs = qs.filter(published_at__gte=timezone.now() - timedelta(days=group.rule_new_days))
    if group.rule_on_sale:
        qs = qs.filter(
            Exists(
                Variant.objects.filter(
                    product_id=OuterRef("pk"), is_active=True, compare_at_price__gt=F("price")
                )
            )
        )
    if group.rule_category_id:
        category = group.rule_category
        qs = qs.filter(category__path__startswith=category.path or f"/{category.pk}/")
    if group.rule_min_price is not None:
        qs = qs.filter(min_price__gte=group.rule_min_price)
    if group.rule_max_price is not None:
        qs = qs.filter(min_price__lte=group.rule_max_price)
    return qs


def search_products(store: Store, query: str) -> QuerySet[Product]:
    """Products matching ``query``; annotated with ``rank`` on PostgreSQL.

    PostgreSQL: every word found as a substring of the normalised ``search_text``; when no product
    has them all, every word as a substring or by trigram word similarity (typos: "sukinka" finds
    "sukienka"); ranked by full-text prefix match (config 'simple') plus similarity. Both sides are transliterated in Python, so "zolty" finds "żółty". SQLite: every word must be
    a substring of ``search_text``.
    """
    words = normalise_search(query).split()[: settings.CATALOG_SEARCH_MAX_WORDS]
    qs = published_products(store)
    if not words:
        return qs.none().annotate(rank=Value(0.0))
    if not settings.IS_POSTGRES:
        for word in words:
            qs = qs.filter(search_text__contains=word)
        return qs.annotate(rank=Value(0.0))
    from django.contrib.postgres.search import (
        SearchQuery,
        SearchRank,
        SearchVector,
        TrigramWordSimilarity,
    )

    vector = SearchVector("search_text", config="simple")
    # Every word as a substring first (the trigram GIN index serves LIKE '%word%', so the page and
    # the paginator's COUNT are bitmap index scans); only when that finds nothing (a typo:
    # "sukinka") are words also matched by trigram word similarity (``%>``, threshold set per
    # connection by catalog.apps.set_search_threshold). Always OR-ing the similarity in made
    # PostgreSQL read and score every product (a common word is "similar" to a fifth of them),
    # ~0.3 s per search at 10,000 products. A prefix match of every term (what the full-text
    # query below finds) is a substring match of that term, so full text only ranks the rows.
    exact = Q()
    fuzzy = Q()
    for word in words:
        word_terms = [t for t in re.split(r"[^a-z0-9]+", word) if t]
        matches = Q(search_text__contains=word)
        if len(word_terms) > 1:  # "t-shirt" also finds "shirt t" (each term on its own)
            each = Q()
            for term in word_terms:
                each &= Q(search_text__contains=term)
            matches |= each
        exact &= matches
        fuzzy &= matches | Q(search_text__trigram_word_similar=word)
    qs = qs.filter(exact) if qs.filter(exact).exists() else qs.filter(fuzzy)
    similarity = sum(
        (TrigramWordSimilarity(word, "search_text") for word in words[1:]),
        TrigramWordSimilarity(words[0], "search_text"),
    )
    terms = [t for w in words for t in re.split(r"[^a-z0-9]+", w) if t]
    if not terms:
        return qs.annotate(rank=similarity)
    # Prefix matching on every term ("sukien" ranks "sukienka"); terms are [a-z0-9] only.
    fts = SearchQuery(" & ".join(f"{t}:*" for t in terms), config="simple", search_type="raw")
    return qs.annotate(rank=SearchRank(vector, fts) + similarity)


# --- Prices (EU Omnibus) -------------------------------------------------------------------------


def omnibus_prices(variants: Iterable[Variant | int], *, now: datetime | None = None) -> dict[int, Decimal]:
    """Variant id -> the lowest price in the 30 days before its current price took effect.

    One query for any number of variants. The current price period starts at the earliest of the
    trailing history rows carrying today's price; the window is the 30 days before that. With no
    earlier price on record the current price is the lowest.
    """
    now = now or timezone.now()
    ids = sorted({v if isinstance(v, int) else v.pk for v in variants})
    if not ids:
        return {}
    days = settings.CATALOG_OMNIBUS_DAYS
    rows: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for variant_id, valid_from, price in (
        PriceHistory.objects.filter(variant_id__in=ids, valid_from__lte=now)
        .order_by("variant_id", "valid_from", "pk")
        .values_list("variant_id", "valid_from", "price")
    ):
        rows[variant_id].append((valid_from, price))
    result: dict[int, Decimal] = {}
    for variant_id in ids:
        history = rows.get(variant_id)
        if not history:
            continue
        current = history[-1][1]
        i = len(history) - 1
        while i > 0 and history[i - 1][1] == current:
            i -= 1
        start = history[i][0]
        window_start = start - timedelta(days=days)
        before = history[:i]
        lowest = None
        for j, (_valid_from, price) in enumerate(before):
            until = before[j + 1][0] if j + 1 < len(before) else start
            if until > window_start:  # this price was in effect at some point of the window
                lowest = price if lowest is None else min(lowest, price)
        result[variant_id] = current if lowest is None else lowest
    return result


def attach_card_extras(
    products: list[Product], *, omnibus: dict[int, Decimal] | None = None
) -> list[Product]:
    """Set ``omnibus_price`` on the discounted cards of a page (one query, none when the
    ``omnibus`` prices were fetched already)."""
    discounted = {
        p.pk for p in products if p.card_compare_at is not None and p.card_compare_at > (p.min_price or 0)
    }
    if omnibus is None:
        omnibus = omnibus_prices([p.card_variant_id for p in products if p.pk in discounted])
    for p in products:
        p.omnibus_price = omnibus.get(p.card_variant_id) if p.pk in discounted else None
    return products


attach_card_omnibus = attach_card_extras  # the name the API's first version imports


# --- Product page --------------------------------------------------------------------------------


@dataclass
class ProductPage:
    product: Product
    variants: list[Variant]
    availability: dict[int, stock.Availability]
    omnibus: dict[int, Decimal]
    images: list[ProductImage]
    related: list[Product]
    recommended: list[Product]
    components: list[SetComponent]
    breadcrumbs: list[CategoryNode]


def product_page(store: Store, slug: str, *, tree: CategoryTree | None = None) -> ProductPage | None:
    """Everything the product page shows, in a constant number of queries (about 8)."""
    product = (
        Product.objects.filter(store=store, slug=slug, is_published=True)
        .select_related("category")
        .annotate(
            has_links=Exists(Product.related.through.objects.filter(from_product=OuterRef("pk")))
            | Exists(Product.recommended.through.objects.filter(from_product=OuterRef("pk")))
        )
        .first()
    )
    if product is None:
        return None
    variants = list(
        Variant.objects.filter(product=product, is_active=True)
        .select_related("product")
        .prefetch_related(
            Prefetch(
                "attribute_values",
                queryset=AttributeValue.objects.select_related("attribute").order_by(
                    "attribute__position", "attribute__pk", "position", "pk"
                ),
            )
        )
        .order_by("position", "pk")
    )
    availability = stock.availability_map(variants) if variants else {}
    images = list(product.images.all())
    others = []
    # Most products have no related or recommended products: the product query says so
    # (``has_links``), and then the card query, whose annotations cost more to build than to run,
    # is skipped.
    if product.has_links:
        related = Product.related.through.objects.filter(from_product=product.pk)
        recommended = Product.recommended.through.objects.filter(from_product=product.pk)
        others = list(
            with_card_data(
                published_products(store).filter(
                    Q(pk__in=related.values("to_product")) | Q(pk__in=recommended.values("to_product"))
                )
            )
            .annotate(
                is_related=Exists(related.filter(to_product=OuterRef("pk"))),
                is_recommended=Exists(recommended.filter(to_product=OuterRef("pk"))),
            )
            .order_by("name", "pk")[: settings.CATALOG_RELATED_LIMIT * 2]
        )
    # One Omnibus query for the page's discounted variants and the discounted cards beside them.
    discounted_cards = [
        p for p in others if p.card_compare_at is not None and p.card_compare_at > (p.min_price or 0)
    ]
    omnibus = omnibus_prices(
        [v for v in variants if v.is_discounted] + [p.card_variant_id for p in discounted_cards]
    )
    attach_card_extras(others, omnibus=omnibus)
    components = []
    if product.kind == Product.Kind.SET:
        components = list(
            SetComponent.objects.filter(set_product=product).select_related("variant__product").order_by("pk")
        )
    tree = tree or category_tree(store)
    breadcrumbs = []
    if product.category_id and product.category_id in tree.by_id:
        node = tree.by_id[product.category_id]
        breadcrumbs = [*tree.ancestors(node), node]
    return ProductPage(
        product=product,
        variants=variants,
        availability=availability,
        omnibus=omnibus,
        images=images,
        related=[p for p in others if p.is_related][: settings.CATALOG_RELATED_LIMIT],
        recommended=[p for p in others if p.is_recommended][: settings.CATALOG_RELATED_LIMIT],
        components=components,
        breadcrumbs=breadcrumbs,
    )


def recommended_for(products: Iterable[Product | int], *, limit: int = 4) -> list[Product]:
    """Recommended products for a cart (cross-sell): published, not already in ``products``,
    with card data. One query (plus one for Omnibus prices)."""
    ids = {p if isinstance(p, int) else p.pk for p in products}
    if not ids:
        return []
    store_id = Product.objects.filter(pk__in=ids).values("store_id")[:1]
    qs = with_card_data(
        Product.objects.filter(
            store_id=Subquery(store_id),
            is_published=True,
            min_price__isnull=False,
            pk__in=Product.recommended.through.objects.filter(from_product_id__in=ids).values("to_product"),
        ).exclude(pk__in=ids)
    ).order_by("-popularity", "pk")[:limit]
    return attach_card_extras(list(qs))
