"""Catalog reads shaped for the storefront's pages.

Every function here costs a constant number of queries whatever the catalog size: listings carry
their card data (cheapest variant, its compare-at price, the first image, availability) as
annotations instead of per-product queries, and the category tree is cached per store. The
availability annotation comes from :mod:`catalog.availability` (the SQL form of
:mod:`catalog.stock`'s rule).
"""

from __future__ import annotations

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
from .text import normalise_search, search_stems, stem_pl

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
        # The cheapest variant's package, for the unit price next to the card's price.
        "card_net_quantity": Subquery(cheapest.values("net_quantity")[:1]),
        "card_unit": Subquery(cheapest.values("unit")[:1]),
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


# Words a query may carry that name nothing in a catalog ("sukienka na wesele"); dropped when the
# query has other words.
STOP_WORDS = frozenset(
    [
        "a",
        "i",
        "o",
        "u",
        "w",
        "we",
        "z",
        "ze",
        "na",
        "do",
        "dla",
        "od",
        "po",
        "pod",
        "nad",
        "bez",
        "oraz",
        "lub",
        "albo",
        "czy",
    ]
)


@dataclass
class SearchPlan:
    """How a query is matched: per query word, the alternatives that may stand for it (each a
    tuple of stems that must all be found, as a word prefix), and its raw form (a substring: SKU
    and EAN fragments)."""

    words: list[str]
    alternatives: list[list[tuple[str, ...]]]
    corrected: bool = False


def _synonym_groups(store: Store) -> list[list[tuple[str, ...]]]:
    """The store's synonyms as groups of stem tuples (one query)."""
    from .models import SearchSynonym

    groups = []
    for terms in SearchSynonym.objects.filter(store=store).values_list("terms", flat=True):
        group = [tuple(search_stems(t)) for t in terms.split(",")]
        group = [t for t in group if t]
        if len(group) > 1:
            groups.append(group)
    return groups


def search_vocabulary(store: Store) -> tuple[list[str], list[str]]:
    """Every word and stem in the store's published ``search_text``, and every word of the
    products' names (what a suggestion may offer), both sorted; cached per catalog version
    (``catalog.pagecache``), so only the first miss after a catalog change reads them."""
    from .pagecache import current_version

    try:
        key = f"catalog:search-vocabulary:{store.pk}:{current_version(store.pk)}"
        found = cache.get(key)
    except Exception:  # the cache is down
        key, found = None, None
    if found is not None:
        return found
    words: set[str] = set()
    names: set[str] = set()
    for name, text in published_products(store).values_list("name", "search_text").iterator():
        words.update(text.split())
        names.update(normalise_search(name).split())
    vocabulary = (
        sorted(w for w in words if w.isalpha() and len(w) >= 3),
        sorted(w for w in names if w.isalpha() and len(w) >= 3),
    )
    if key is not None:
        cache.set(key, vocabulary, settings.CATALOG_PAGE_CACHE_SECONDS)
    return vocabulary


def _known(alternatives: list[tuple[str, ...]], vocabulary: list[str]) -> bool:
    from bisect import bisect_left

    def has_prefix(stem: str) -> bool:
        i = bisect_left(vocabulary, stem)
        return i < len(vocabulary) and vocabulary[i].startswith(stem)

    return any(all(has_prefix(s) for s in alt) for alt in alternatives)


def search_plan(store: Store, query: str) -> SearchPlan:
    """The words of ``query`` (normalised, stop words dropped) and what each may match: its
    stem, and the stems of the store's synonyms of it. One query (the synonyms)."""
    words = normalise_search(query).split()
    meaningful = [w for w in words if w not in STOP_WORDS]
    words = (meaningful or words)[: settings.CATALOG_SEARCH_MAX_WORDS]
    groups = _synonym_groups(store) if words else []
    alternatives = []
    for word in words:
        own = tuple(search_stems(word))
        alts = [own] if own else []
        for group in groups:
            if own in group or any(
                len(own) == len(term) == 1 and len(own[0]) >= 4 and term[0].startswith(own[0])
                for term in group
            ):
                alts += [term for term in group if term not in alts]
        alternatives.append(alts)
    return SearchPlan(words=words, alternatives=alternatives)


def corrected_plan(store: Store, plan: SearchPlan) -> SearchPlan | None:
    """``plan`` with each word that no product's text has (a typo: "sukinka", "koszla") replaced
    by the closest stems of the catalog's vocabulary; None when nothing changes. Python's
    ``difflib`` on the cached vocabulary, so typos are forgiven the same way on PostgreSQL and
    SQLite."""
    from difflib import SequenceMatcher, get_close_matches

    vocabulary = search_vocabulary(store)[0]
    changed = False
    alternatives = []
    for word, alts in zip(plan.words, plan.alternatives, strict=True):
        if _known(alts, vocabulary) or not word.isalpha() or len(word) < 4:
            alternatives.append(alts)
            continue
        stem = stem_pl(word)
        # A much shorter word is a prefix of too much ("kos" of "koslua" finds every "kos*").
        close = [
            c
            for c in get_close_matches(stem, vocabulary, n=8, cutoff=0.75)
            if len(c) >= max(4, len(stem) - 1)
        ]
        if close:
            # Only the closest word (and any as close): "koszlka" is "koszulka", not also the
            # brand "Koszyk" a little further away.
            best = max(SequenceMatcher(None, stem, c).ratio() for c in close)
            changed = True
            alternatives.append(
                [(c,) for c in close if SequenceMatcher(None, stem, c).ratio() >= best - 1e-9]
            )
        else:
            alternatives.append(alts)
    return SearchPlan(plan.words, alternatives, corrected=True) if changed else None


def _plan_filter(plan: SearchPlan) -> Q:
    condition = Q()
    for word, alts in zip(plan.words, plan.alternatives, strict=True):
        matches = Q(search_text__contains=word)
        for alt in alts:
            every = Q()
            for stem in alt:  # the start of a word: after a space, or the text's first word
                every &= Q(search_text__contains=f" {stem}") | Q(search_text__startswith=stem)
            matches |= every
        condition &= matches
    return condition


@dataclass
class SearchResult:
    """What :func:`search` found: the products, and the query words it had to leave out to find
    any ("czerwona" of "czerwona sukienka" when no dress is red), for the page to say so."""

    products: QuerySet[Product]
    dropped: list[str] = field(default_factory=list)
    corrected: bool = False


def _without(plan: SearchPlan, keep: list[bool]) -> SearchPlan:
    return SearchPlan(
        [w for w, k in zip(plan.words, keep, strict=True) if k],
        [a for a, k in zip(plan.alternatives, keep, strict=True) if k],
        plan.corrected,
    )


def _relaxed_plan(store: Store, plan: SearchPlan) -> tuple[SearchPlan, list[str]] | None:
    """For a query of several words that finds nothing: without its attribute words (colour,
    size: "czerwona sukienka" -> "sukienka"), else without the words the catalog has not got at
    all ("sukienka na wesele" -> "sukienka"). None when neither leaves a word."""
    if len(plan.words) < 2:
        return None
    value_stems = set()
    for value in AttributeValue.objects.filter(attribute__store=store).values_list("value", flat=True):
        value_stems.update(search_stems(value))
    attribute_word = [
        bool(alts) and any(len(a) == 1 and a[0] in value_stems for a in alts) for alts in plan.alternatives
    ]
    if any(attribute_word) and not all(attribute_word):
        keep = [not a for a in attribute_word]
    else:
        vocabulary = search_vocabulary(store)[0]
        keep = [_known(alts, vocabulary) for alts in plan.alternatives]
        if not any(keep):
            return None
        if all(keep):  # every word exists, not together: leave one out, the last one first
            published = published_products(store)
            for i in reversed(range(len(plan.words))):
                keep = [j != i for j in range(len(plan.words))]
                if published.filter(_plan_filter(_without(plan, keep))).exists():
                    break
            else:
                return None
    dropped = [w for w, k in zip(plan.words, keep, strict=True) if not k]
    return _without(plan, keep), dropped


def search(store: Store, query: str) -> SearchResult:
    """Products matching ``query``, annotated with ``rank`` (0 on SQLite).

    Every query word must be found in the product's ``search_text`` (name, brand, category,
    variants' names -- sizes and colours --, SKUs and EANs; ``catalog.bulk.search_text``): as a
    substring, or its Polish stem (``catalog.text.stem_pl``) as the start of one of the product's
    stems, or any of the store's synonyms of it (``SearchSynonym``). So "koszulki" finds
    "Koszula", "swetry" finds "Sweter", "kurtka zolta" finds "Kurtka pikowana – żółty".

    When nothing matches: words no product has are replaced by the closest words of the catalog
    (typos: "sukinka" finds "sukienka"; :func:`corrected_plan`); if that finds nothing either, a
    query of several words drops its attribute words, or its unknown ones
    (:func:`_relaxed_plan`), and the result names them. Queries: the synonyms and an ``EXISTS``
    (the caller's page and count come on top); a miss adds the vocabulary (cached), a second
    ``EXISTS`` and, for several words, the attribute values.

    On PostgreSQL the trigram GIN index of ``search_text`` serves every ``LIKE '%...%'``, and the
    rank is a full-text prefix match (config 'simple') plus trigram word similarity.
    """
    qs = published_products(store)
    plan = search_plan(store, query)
    if not plan.words:
        return SearchResult(qs.none().annotate(rank=Value(0.0)))
    dropped: list[str] = []
    condition = _plan_filter(plan)
    if not qs.filter(condition).exists():
        corrected = corrected_plan(store, plan)
        if corrected is not None and qs.filter(_plan_filter(corrected)).exists():
            plan, condition = corrected, _plan_filter(corrected)
        else:
            relaxed = _relaxed_plan(store, corrected or plan)
            if relaxed is not None:
                plan, dropped = relaxed
                condition = _plan_filter(plan)
    return SearchResult(_ranked(qs.filter(condition), plan), dropped, plan.corrected)


def _ranked(qs: QuerySet[Product], plan: SearchPlan) -> QuerySet[Product]:
    if not settings.IS_POSTGRES:
        return qs.annotate(rank=Value(0.0))
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramWordSimilarity

    words = plan.words
    similarity = sum(
        (TrigramWordSimilarity(word, "search_text") for word in words[1:]),
        TrigramWordSimilarity(words[0], "search_text"),
    )
    stems = [s for alts in plan.alternatives for s in (alts[0] if alts else ()) if s.isalnum()]
    if not stems:
        return qs.annotate(rank=similarity)
    # Prefix matching on the stems ("sukien" ranks "sukienka"); stems are [a-z0-9] only.
    fts = SearchQuery(" | ".join(f"{t}:*" for t in stems), config="simple", search_type="raw")
    return qs.annotate(rank=SearchRank(SearchVector("search_text", config="simple"), fts) + similarity)


def search_products(store: Store, query: str) -> QuerySet[Product]:
    """The products of :func:`search` (the API and older callers)."""
    return search(store, query).products


def search_suggestions(store: Store, query: str, *, limit: int = 3) -> list[str]:
    """Queries to offer when ``query`` found nothing: each of its words the catalog has not got
    replaced by the closest words of the products' names ("koszla" -> "koszula"), up to
    ``limit``. From the cached vocabulary: no product query."""
    from difflib import get_close_matches

    plan = search_plan(store, query)
    if not plan.words:
        return []
    every, names = search_vocabulary(store)
    options = []
    for word, alts in zip(plan.words, plan.alternatives, strict=True):
        if _known(alts, every) or not word.isalpha():
            options.append([word])
        else:
            options.append(get_close_matches(word, names, n=limit, cutoff=0.6))
    if not all(options) or all(o == [w] for o, w in zip(options, plan.words, strict=True)):
        return []
    suggestions = []
    for i in range(limit):
        suggestion = " ".join(o[min(i, len(o) - 1)] for o in options)
        if suggestion not in suggestions:
            suggestions.append(suggestion)
    return suggestions


def popular_products(store: Store, *, limit: int = 4) -> list[Product]:
    """The store's most popular products, as cards (shown when a search finds nothing)."""
    qs = with_card_data(published_products(store)).order_by("-popularity", "-pk")[:limit]
    return attach_card_extras(list(qs))


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
        .select_related("category", "manufacturer", "responsible_person")
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
