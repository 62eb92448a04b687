"""The stock report: counted variants with on-hand, reserved and available units and their value."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Product, StockItem, StockReservation, Variant
from orders.models.common import money
from shop.models import Store


def stock_queryset(*, store: Store, only_below_threshold: bool = False, warehouse_id: int | None = None):
    """Variants whose stock is counted (tracked, not pre-order, not sets -- a set's stock is its
    components'), annotated with ``on_hand`` (active warehouses, or one), ``reserved`` (holds not
    yet expired) and ``available``; ``only_below_threshold`` keeps those at or under their
    low-stock threshold, as the storefront's "low stock" badge does."""
    qs = _counted_variants(Variant.objects.filter(store=store), warehouse_id=warehouse_id)
    if only_below_threshold:
        qs = qs.filter(BELOW_THRESHOLD)
    return qs.order_by("product__name", "sku", "pk")


#: A counted variant at or under its low-stock threshold (the storefront's "low stock" badge).
BELOW_THRESHOLD = Q(available__lte=F("low_stock_threshold"))


def _counted_variants(variants, *, warehouse_id: int | None = None):
    """``variants`` narrowed to those whose stock is counted, annotated with ``on_hand``,
    ``reserved`` and ``available`` (see :func:`stock_queryset`)."""
    stock_filter = Q(variant=OuterRef("pk"), warehouse__is_active=True)
    if warehouse_id:
        stock_filter &= Q(warehouse_id=warehouse_id)
    on_hand = StockItem.objects.filter(stock_filter).values("variant").annotate(s=Sum("quantity")).values("s")
    reserved = (
        StockReservation.objects.filter(variant=OuterRef("pk"), expires_at__gt=timezone.now())
        .values("variant")
        .annotate(s=Sum("quantity"))
        .values("s")
    )
    return (
        variants.filter(track_stock=True, is_preorder=False)
        .exclude(product__kind__in=[Product.Kind.SET, Product.Kind.DIGITAL, Product.Kind.GIFT_CARD])
        .annotate(
            on_hand=Coalesce(Subquery(on_hand, output_field=IntegerField()), Value(0)),
            reserved=Coalesce(Subquery(reserved, output_field=IntegerField()), Value(0)),
        )
        .annotate(available=F("on_hand") - F("reserved"))
    )


def stock_rows(
    *,
    store: Store,
    only_below_threshold: bool = False,
    warehouse_id: int | None = None,
    chunk_size: int | None = None,
) -> Iterator[dict]:
    """One dict per variant: stock, its value at cost (net cost price; empty when unknown) and
    at the selling price (gross), and whether it is at or below its low-stock threshold."""
    qs = stock_queryset(
        store=store, only_below_threshold=only_below_threshold, warehouse_id=warehouse_id
    ).values(
        "sku",
        "product__name",
        "name",
        "product__category__name",
        "on_hand",
        "reserved",
        "available",
        "low_stock_threshold",
        "cost_price",
        "price",
        "is_active",
    )
    for row in qs.iterator(chunk_size=chunk_size or settings.REPORTS_CHUNK_SIZE):
        on_hand = max(0, row["on_hand"])
        available = max(0, row["available"])
        cost = row["cost_price"]
        yield {
            "sku": row["sku"],
            "product": row["product__name"],
            "variant": row["name"],
            "category": row["product__category__name"] or "",
            "on_hand": on_hand,
            "reserved": row["reserved"],
            "available": available,
            "threshold": row["low_stock_threshold"],
            "below_threshold": available <= row["low_stock_threshold"],
            "cost_price": cost,
            "price": row["price"],
            "value_at_cost": money(cost * on_hand) if cost is not None else None,
            "value_at_price": money(row["price"] * on_hand),
        }


def stock_alerts(*, store_ids) -> dict[int, dict[str, int]]:
    """Per store (``store_ids`` ``None``: every store), the counted variants at or under their
    low-stock threshold (``below``: what the stock report's "only below threshold" lists) and,
    of those, the sold-out ones (``out``: nothing available). Stores without any are left out.
    Costs 1 query."""
    variants = Variant.objects.all() if store_ids is None else Variant.objects.filter(store__in=store_ids)
    rows = (
        _counted_variants(variants)
        .filter(BELOW_THRESHOLD)
        .values("store")
        .annotate(below=Count("pk"), out=Count("pk", filter=Q(available__lte=0)))
        .order_by()
    )
    return {row["store"]: {"below": row["below"], "out": row["out"]} for row in rows}


def stock_count(*, store: Store, only_below_threshold: bool = False, warehouse_id: int | None = None) -> int:
    return stock_queryset(
        store=store, only_below_threshold=only_below_threshold, warehouse_id=warehouse_id
    ).count()
