"""Availability as SQL: can a product be bought now, for listings, filters and the admin.

The rule itself lives in :mod:`catalog.stock` (``_status`` for one variant, ``availability_map``
for sets): available = on hand in active warehouses - active (unexpired) reservations; untracked
variants and backorders are always sellable; pre-orders count against their pre-order limit; a
set is available when it has an active variant and every component is active and has enough
units for one set (components on backorder count only their shelf). This module answers the
same question per *product* in the database, for pages that list many products at once; a
product is available when at least one of its active variants is.
``tests/catalog/test_availability.py`` checks the three forms (ORM expression, raw SQL, Python)
against each other on a matrix of cases: change them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Product, SetComponent, StockItem, StockReservation, Variant


def _on_hand(variant_ref: str):
    return Coalesce(
        Subquery(
            StockItem.objects.filter(variant_id=OuterRef(variant_ref), warehouse__is_active=True)
            .values("variant_id")
            .annotate(s=Sum("quantity"))
            .values("s")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def _reserved(variant_ref: str, now: datetime):
    return Coalesce(
        Subquery(
            StockReservation.objects.filter(variant_id=OuterRef(variant_ref), expires_at__gt=now)
            .values("variant_id")
            .annotate(s=Sum("quantity"))
            .values("s")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def _sellable_variant_q() -> Q:
    """Mirrors ``catalog.stock._status``: which (annotated) variants can be bought right now."""
    return (
        Q(is_preorder=True, preorder_limit__isnull=True)
        | Q(is_preorder=True, preorder_limit__gt=F("preorder_sold") + F("reserved_units"))
        | Q(is_preorder=False, track_stock=False)
        | Q(is_preorder=False, backorder=Variant.Backorder.ALLOW)
        | Q(is_preorder=False, on_hand_units__gt=F("reserved_units"))
    )


def available_expression(now: datetime | None = None):
    """A boolean annotation for products: can at least one unit be bought now?

    Availability = on hand - active (unexpired) reservations, as in ``catalog.stock``; a set is
    available when every component has enough units for one set.
    """
    now = now or timezone.now()
    sellable_variants = (
        Variant.objects.filter(product_id=OuterRef("pk"), is_active=True)
        .annotate(on_hand_units=_on_hand("pk"), reserved_units=_reserved("pk", now))
        .filter(_sellable_variant_q())
    )
    short_components = (
        SetComponent.objects.filter(set_product_id=OuterRef("pk"))
        .annotate(on_hand_units=_on_hand("variant_id"), reserved_units=_reserved("variant_id", now))
        .filter(
            Q(variant__is_active=False)
            | Q(
                variant__is_preorder=False,
                variant__track_stock=True,
                on_hand_units__lt=F("reserved_units") + F("quantity"),
            )
            | Q(
                variant__is_preorder=True,
                variant__preorder_limit__isnull=False,
                variant__preorder_limit__lt=F("variant__preorder_sold") + F("reserved_units") + F("quantity"),
            )
        )
    )
    set_ok = (
        Exists(SetComponent.objects.filter(set_product_id=OuterRef("pk")))
        & ~Exists(short_components)
        & Exists(Variant.objects.filter(product_id=OuterRef("pk"), is_active=True))
    )
    return ExpressionWrapper(
        (Q(kind=Product.Kind.SET) & set_ok) | (~Q(kind=Product.Kind.SET) & Exists(sellable_variants)),
        output_field=BooleanField(),
    )


def _available_sql(product_id: str, product_kind: str, now: datetime | None = None) -> tuple[str, list]:
    """SQL (and its parameters) that is true when a product can be bought now.

    The same rules as :func:`available_expression` and ``catalog.stock``, hand-written: building
    the equivalent ORM expression costs more Python time per request than the SQL itself.
    ``product_id``/``product_kind`` are the outer query's columns. Only code constants are
    interpolated; every value is a parameter.
    """
    from django.db import connection

    now_param = connection.ops.adapt_datetimefield_value(now or timezone.now())
    on_hand = (
        "COALESCE((SELECT SUM(s.quantity) FROM catalog_stockitem s INNER JOIN catalog_warehouse w "
        "ON w.id = s.warehouse_id WHERE s.variant_id = {v} AND w.is_active), 0)"
    )
    reserved = (
        "COALESCE((SELECT SUM(r.quantity) FROM catalog_stockreservation r "
        "WHERE r.variant_id = {v} AND r.expires_at > %s), 0)"
    )
    allow = Variant.Backorder.ALLOW.value
    kind_set = Product.Kind.SET.value
    sellable = (
        "v.is_active AND ("
        f"(v.is_preorder AND (v.preorder_limit IS NULL OR v.preorder_limit > v.preorder_sold + {reserved.format(v='v.id')}))"
        f" OR (NOT v.is_preorder AND (NOT v.track_stock OR v.backorder = '{allow}'"
        f" OR {on_hand.format(v='v.id')} > {reserved.format(v='v.id')})))"
    )
    short = (
        f"c.set_product_id = {product_id} AND (NOT cv.is_active"
        f" OR (NOT cv.is_preorder AND cv.track_stock AND {on_hand.format(v='cv.id')} < {reserved.format(v='cv.id')} + c.quantity)"
        " OR (cv.is_preorder AND cv.preorder_limit IS NOT NULL"
        f" AND cv.preorder_limit < cv.preorder_sold + {reserved.format(v='cv.id')} + c.quantity))"
    )
    # Scalar "(SELECT 1 ... LIMIT 1) IS NOT NULL" rather than EXISTS: PostgreSQL may turn an EXISTS
    # into a hashed subplan over every variant of the shop, while a page needs 48 index lookups.
    sql = (
        f"(({product_kind} <> '{kind_set}' AND (SELECT 1 FROM catalog_variant v"  # noqa: S608
        f" WHERE v.product_id = {product_id} AND {sellable} LIMIT 1) IS NOT NULL)"
        f" OR ({product_kind} = '{kind_set}'"
        f" AND (SELECT 1 FROM catalog_setcomponent c0 WHERE c0.set_product_id = {product_id} LIMIT 1) IS NOT NULL"
        f" AND (SELECT 1 FROM catalog_variant v2 WHERE v2.product_id = {product_id} AND v2.is_active LIMIT 1) IS NOT NULL"
        " AND (SELECT 1 FROM catalog_setcomponent c INNER JOIN catalog_variant cv"
        f" ON cv.id = c.variant_id WHERE {short} LIMIT 1) IS NULL))"
    )
    return sql, [now_param] * sql.count("%s")


def available_sql_annotation(now: datetime | None = None) -> RawSQL:
    """``is_available`` for a product queryset (a cheap-to-build RawSQL annotation)."""
    sql, params = _available_sql('"catalog_product"."id"', '"catalog_product"."kind"', now)
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - constants only, values are params


def available_product_ids(product_ids: Iterable[int], *, now: datetime | None = None) -> set[int]:
    """The ids among ``product_ids`` that can be bought now (one query)."""
    ids = [int(i) for i in product_ids]
    if not ids:
        return set()
    from django.db import connection

    condition, params = _available_sql("p.id", "p.kind", now)
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"SELECT p.id FROM catalog_product p WHERE p.id IN ({placeholders}) AND {condition}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, ids + params)
        return {row[0] for row in cursor.fetchall()}


def low_stock_expression(now: datetime | None = None):
    """Products with a tracked variant that is available but at or under its low-stock threshold."""
    now = now or timezone.now()
    low = (
        Variant.objects.filter(product_id=OuterRef("pk"), is_active=True, track_stock=True, is_preorder=False)
        .annotate(on_hand_units=_on_hand("pk"), reserved_units=_reserved("pk", now))
        .annotate(available_units=F("on_hand_units") - F("reserved_units"))
        .filter(available_units__gt=0, available_units__lte=F("low_stock_threshold"))
    )
    return Exists(low)
