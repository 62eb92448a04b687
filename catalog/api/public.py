"""Public catalog endpoints: what any shopper or headless storefront may read, per store."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from shop.api.errors import ApiError
from shop.api.views import PublicView, query_bool

from .. import selectors
from ..models import Product, ProductGroup
from .serializers import CategoryOutput, GroupOutput, ProductCardSerializer, ProductDetailSerializer

CARD_FIELDS = (
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
    "vat_rate",
)

ORDERINGS = [*selectors.SORTS, "relevance"]
PRICE_PATTERN = r"^(\d{1,10}(\.\d{1,2})?)?$"  # empty: no bound
ATTR_PATTERN = r"^[^:]+:[\s\S]+$"  # attribute:value[,value]


def _decimal(request, name: str) -> Decimal | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    value = Decimal(raw) if re.fullmatch(PRICE_PATTERN, raw) else None
    if value is None:
        raise ApiError(
            _("Enter a non-negative number."),
            code="invalid",
            status_code=400,
            fields={name: [_("Enter a non-negative number.")]},
        )
    return value


def _attrs(request) -> dict[str, list[str]]:
    attrs: dict[str, list[str]] = {}
    for raw in request.query_params.getlist("attr")[:20]:
        slug, _sep, values = raw.partition(":")
        if not re.fullmatch(ATTR_PATTERN, raw):
            raise ApiError(
                _("Use attr=<attribute>:<value>[,<value>]."),
                status_code=400,
                fields={"attr": [_("Use attr=<attribute>:<value>[,<value>].")]},
            )
        attrs.setdefault(slug[:80], []).extend(v[:80] for v in values.split(",")[:50] if v)
    return attrs


def _cards_vat(cards: list[Product]) -> None:
    """Related/recommended cards come without ``vat_rate``: load it for all in one query."""
    ids = [c.pk for c in cards]
    if not ids:
        return
    rates = dict(Product.objects.filter(pk__in=ids).values_list("pk", "vat_rate"))
    for card in cards:
        card.vat_rate = rates.get(card.pk, "23")


class ProductListView(PublicView):
    """Published products with their card data (price, Omnibus price, image, availability)."""

    @extend_schema(
        tags=["catalog"],
        parameters=[
            OpenApiParameter("category", str, description="Category slug (includes subcategories)."),
            OpenApiParameter("group", str, description="Product group slug."),
            OpenApiParameter("search", str, description="Full-text search (typo tolerant on PostgreSQL)."),
            OpenApiParameter(
                "price_min", str, pattern=PRICE_PATTERN, description="Minimum gross price, e.g. 49.99."
            ),
            OpenApiParameter("price_max", str, pattern=PRICE_PATTERN, description="Maximum gross price."),
            OpenApiParameter(
                "attr",
                str,
                many=True,
                pattern=ATTR_PATTERN,
                description="attribute:value[,value], repeatable.",
            ),
            OpenApiParameter("in_stock", bool, description="Only products that can be bought now."),
            OpenApiParameter("ordering", str, enum=ORDERINGS, description="Sort order."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description=f"At most {settings.API_MAX_PAGE_SIZE}."),
        ],
        responses=ProductCardSerializer(many=True),
    )
    def get(self, request):
        store = self.store
        params = request.query_params
        ordering = params.get("ordering") or ""
        if ordering and ordering not in ORDERINGS:
            raise ApiError(
                _("Unknown ordering."),
                status_code=400,
                fields={"ordering": [_("Choose one of: %s") % ", ".join(ORDERINGS)]},
            )
        search = (params.get("search") or "").strip()[: settings.CATALOG_SEARCH_MAX_LENGTH]
        qs = selectors.search_products(store, search) if search else selectors.published_products(store)
        if params.get("category"):
            tree = selectors.category_tree(store)
            node = tree.by_slug.get(params["category"])
            qs = qs.none() if node is None else qs.filter(category_id__in=tree.subtree_ids(node))
        if params.get("group"):
            group = ProductGroup.objects.filter(
                store=store, slug=params["group"][:140], is_published=True
            ).first()
            qs = (
                qs.none() if group is None else qs.filter(pk__in=selectors.group_products(group).values("pk"))
            )
        filters = selectors.ListingFilters(
            price_min=_decimal(request, "price_min"),
            price_max=_decimal(request, "price_max"),
            attrs=_attrs(request),
            available_only=bool(query_bool(request, "in_stock")),
        )
        qs = selectors.apply_filters(selectors.with_card_data(qs).only(*CARD_FIELDS), filters)
        if search and ordering in ("", "relevance"):
            qs = qs.order_by("-rank", "-pk")
        else:
            qs = selectors.sort_listing(qs, ordering if ordering in selectors.SORTS else "popularity")
        page = self.paginate_queryset(qs)
        cards = selectors.attach_card_omnibus(list(page))
        context = {"request": request, "currency": store.currency}
        return self.get_paginated_response(ProductCardSerializer(cards, many=True, context=context).data)


class ProductDetailView(PublicView):
    """One published product: variants with prices and availability, images, related products."""

    @extend_schema(tags=["catalog"], responses=ProductDetailSerializer)
    def get(self, request, pk: int):
        store = self.store
        slug = (
            Product.objects.filter(store=store, pk=pk, is_published=True)
            .values_list("slug", flat=True)
            .first()
        )
        page = selectors.product_page(store, slug) if slug else None
        if page is None:
            raise ApiError(_("No such product."), code="not_found", status_code=404)
        _cards_vat([*page.related, *page.recommended])
        context = {"request": request, "currency": store.currency}
        return Response(ProductDetailSerializer(page, context=context).data)


class CategoryListView(PublicView):
    """The store's published category tree, flat (parents before children)."""

    pagination_class = None

    @extend_schema(tags=["catalog"], responses=CategoryOutput(many=True))
    def get(self, request):
        tree = selectors.category_tree(self.store)
        nodes = list(tree.by_id.values())  # parents first, by position
        return Response(CategoryOutput(nodes, many=True).data)


class GroupListView(PublicView):
    """Published product groups ("Nowości", "Promocje", ...)."""

    pagination_class = None

    @extend_schema(tags=["catalog"], responses=GroupOutput(many=True))
    def get(self, request):
        groups = ProductGroup.objects.filter(store=self.store, is_published=True).order_by("position", "name")
        return Response(GroupOutput(groups, many=True).data)
