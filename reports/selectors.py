"""Read queries behind every report. They return plain data (dataclasses, dicts, Decimals) so
the admin pages, the exports, the API and the tests share one source of numbers.

The rules every number follows (docs/reports.md):

* An order belongs to the period of its ``created_at`` (when it was placed), cut into days,
  weeks and months on the store's wall clock (``TruncDay(..., tzinfo=store.zone)``).
* Only orders in ``statuses`` count; by default the paid ones (:data:`PAID_STATUSES`).
* Refunds are those of returns in status *refunded*, subtracted in the period of their order:
  a report on March shows what March's orders are worth today.
* Whole-store figures use order totals (products, shipping and fees, after discounts); figures
  per product or variant use line totals after discount, net of their returned lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Category, Product, StockItem, StockReservation, Variant
from orders.models import Order, OrderLine, Return, ReturnLine, ShippingMethod
from orders.models.common import money
from shop.models import Store

from .periods import DAY, bounds, period_label, period_starts, previous_range

ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)

#: Orders whose money came in and that were not cancelled: the default of every sales figure.
PAID_STATUSES = (
    Order.Status.PAID,
    Order.Status.PACKED,
    Order.Status.SHIPPED,
    Order.Status.DELIVERED,
    Order.Status.RETURNED,
)

_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _period_key(value, zone) -> date:
    """The local start date of a truncated value (a date, or an aware datetime)."""
    if hasattr(value, "astimezone"):
        return value.astimezone(zone).date()
    return value


def _trunc(field_name: str, granularity: str, zone):
    return _TRUNC[granularity](field_name, tzinfo=zone)


def _statuses(statuses: Sequence[str] | None) -> list[str]:
    return list(statuses) if statuses else [str(s) for s in PAID_STATUSES]


# --- Sales ------------------------------------------------------------------------------------


@dataclass
class VariantSeries:
    variant_id: int | None
    label: str
    sku: str
    revenue: list[Decimal]
    units: list[int]
    orders: list[int]

    @property
    def total_revenue(self) -> Decimal:
        return sum(self.revenue, ZERO)

    @property
    def total_units(self) -> int:
        return sum(self.units)


@dataclass
class SalesSeries:
    """Sales per period (day, week or month) of a range, every period present (zeros included).

    ``gross`` is before refunds, ``refunds`` what was refunded on those orders, ``revenue``
    the net (gross - refunds); ``units`` are net of returned units. With ``product_ids`` the
    figures are those products' lines, split per variant in ``variants``; without, the whole
    store's orders (``variants`` empty).
    """

    date_from: date
    date_to: date
    granularity: str
    currency: str
    periods: list[date]
    gross: list[Decimal]
    refunds: list[Decimal]
    revenue: list[Decimal]
    units: list[int]
    orders: list[int]
    variants: list[VariantSeries] = field(default_factory=list)

    def labels(self, *, long: bool = False) -> list[str]:
        return [period_label(p, self.granularity, long=long) for p in self.periods]

    @property
    def totals(self) -> dict:
        gross = sum(self.gross, ZERO)
        refunds = sum(self.refunds, ZERO)
        orders = sum(self.orders)
        return {
            "gross": gross,
            "refunds": refunds,
            "revenue": gross - refunds,
            "units": sum(self.units),
            "orders": orders,
            "average_order_value": money(gross / orders) if orders else ZERO,
        }


def sales_series(
    *,
    store: Store,
    date_from: date,
    date_to: date,
    granularity: str = DAY,
    product_ids: Sequence[int] | None = None,
    statuses: Sequence[str] | None = None,
) -> SalesSeries:
    """Revenue, units and orders per period; see :class:`SalesSeries`.

    ``product_ids`` must belong to ``store`` (the forms check it; ids of another store simply
    match nothing here). Costs 3 queries (4 with products), whatever the range.
    """
    zone = store.zone
    start, end = bounds(date_from, date_to, zone)
    periods = period_starts(date_from, date_to, granularity)
    index = {p: i for i, p in enumerate(periods)}
    n = len(periods)
    statuses = _statuses(statuses)
    result = SalesSeries(
        date_from=date_from,
        date_to=date_to,
        granularity=granularity,
        currency=store.currency,
        periods=periods,
        gross=[ZERO] * n,
        refunds=[ZERO] * n,
        revenue=[ZERO] * n,
        units=[0] * n,
        orders=[0] * n,
    )
    order_q = Q(
        order__store=store,
        order__status__in=statuses,
        order__created_at__gte=start,
        order__created_at__lt=end,
    )
    if product_ids:
        _product_series(result, order_q, list(product_ids), granularity, zone, index)
    else:
        _store_series(result, store, statuses, start, end, granularity, zone, index)
    result.revenue = [g - r for g, r in zip(result.gross, result.refunds, strict=True)]
    return result


def _store_series(result, store, statuses, start, end, granularity, zone, index) -> None:
    orders = Order.objects.filter(store=store, status__in=statuses, created_at__gte=start, created_at__lt=end)
    for row in (
        orders.annotate(period=_trunc("created_at", granularity, zone))
        .values("period")
        .annotate(gross=Sum("total"), n=Count("id"))
        .order_by()
    ):
        i = index[_period_key(row["period"], zone)]
        result.gross[i] += row["gross"] or ZERO
        result.orders[i] += row["n"]
    for row in (
        OrderLine.objects.filter(order__in=orders)
        .annotate(period=_trunc("order__created_at", granularity, zone))
        .values("period")
        .annotate(units=Sum("quantity"))
        .order_by()
    ):
        result.units[index[_period_key(row["period"], zone)]] += row["units"] or 0
    for row in (
        Return.objects.filter(order__in=orders, status=Return.Status.REFUNDED)
        .annotate(period=_trunc("order__created_at", granularity, zone))
        .values("period")
        .annotate(amount=Sum("refund_amount"))
        .order_by()
    ):
        result.refunds[index[_period_key(row["period"], zone)]] += row["amount"] or ZERO
    for row in (
        ReturnLine.objects.filter(
            return_request__order__in=orders, return_request__status=Return.Status.REFUNDED
        )
        .annotate(period=_trunc("return_request__order__created_at", granularity, zone))
        .values("period")
        .annotate(units=Sum("quantity"))
        .order_by()
    ):
        result.units[index[_period_key(row["period"], zone)]] -= row["units"] or 0


def _product_series(result, order_q, product_ids, granularity, zone, index) -> None:
    n = len(result.periods)
    lines = OrderLine.objects.filter(order_q, variant__product_id__in=product_ids)
    variants: dict[int | None, VariantSeries] = {}

    def variant(row) -> VariantSeries:
        key = row["variant_id"]
        if key not in variants:
            label = row["product_name"]
            if row.get("variant_name"):
                label = f"{label} – {row['variant_name']}"
            variants[key] = VariantSeries(key, label, row.get("sku") or "", [ZERO] * n, [0] * n, [0] * n)
        return variants[key]

    for row in (
        lines.annotate(period=_trunc("order__created_at", granularity, zone))
        .values("period", "variant_id")
        .annotate(
            gross=Sum(ExpressionWrapper(F("total") - F("discount"), output_field=MONEY_FIELD)),
            units=Sum("quantity"),
            n=Count("order_id", distinct=True),
            product_name=Max("product_name"),
            variant_name=Max("variant_name"),
            sku=Max("sku"),
        )
        .order_by()
    ):
        i = index[_period_key(row["period"], zone)]
        v = variant(row)
        v.revenue[i] += row["gross"] or ZERO
        v.units[i] += row["units"] or 0
        v.orders[i] += row["n"]
        result.gross[i] += row["gross"] or ZERO
        result.units[i] += row["units"] or 0
    for row in (
        lines.annotate(period=_trunc("order__created_at", granularity, zone))
        .values("period")
        .annotate(n=Count("order_id", distinct=True))
        .order_by()
    ):
        result.orders[index[_period_key(row["period"], zone)]] = row["n"]
    for row in (
        ReturnLine.objects.filter(order_line__in=lines, return_request__status=Return.Status.REFUNDED)
        .annotate(period=_trunc("order_line__order__created_at", granularity, zone))
        .values("period", "order_line__variant_id")
        .annotate(amount=Sum("refund_amount"), units=Sum("quantity"))
        .order_by()
    ):
        i = index[_period_key(row["period"], zone)]
        v = variants.get(row["order_line__variant_id"])
        amount = row["amount"] or ZERO
        if v is not None:
            v.revenue[i] -= amount
            v.units[i] -= row["units"] or 0
        result.refunds[i] += amount
        result.units[i] -= row["units"] or 0
    result.variants = sorted(variants.values(), key=lambda v: (-v.total_revenue, v.label))


@dataclass
class Ranked:
    """One row of a ranking (product, category, channel)."""

    key: str
    label: str
    revenue: Decimal
    units: int = 0
    orders: int = 0
    gross: Decimal = ZERO
    refunds: Decimal = ZERO

    @property
    def average_order_value(self) -> Decimal:
        return money(self.gross / self.orders) if self.orders else ZERO


def _line_rankings(
    *, store: Store, date_from: date, date_to: date, statuses, group: str, label_field: str | None
) -> dict:
    start, end = bounds(date_from, date_to, store.zone)
    lines = OrderLine.objects.filter(
        order__store=store,
        order__status__in=_statuses(statuses),
        order__created_at__gte=start,
        order__created_at__lt=end,
    )
    ranked: dict = {}
    for row in (
        lines.values(group)
        .annotate(
            gross=Sum(ExpressionWrapper(F("total") - F("discount"), output_field=MONEY_FIELD)),
            units=Sum("quantity"),
            n=Count("order_id", distinct=True),
            **({"name": Max(label_field)} if label_field else {}),
        )
        .order_by()
    ):
        key = row[group]
        ranked[key] = Ranked(
            key=str(key) if key is not None else "",
            label=row.get("name") or "",
            revenue=row["gross"] or ZERO,
            gross=row["gross"] or ZERO,
            units=row["units"] or 0,
            orders=row["n"],
        )
    refund_group = f"order_line__{group}"
    for row in (
        ReturnLine.objects.filter(order_line__in=lines, return_request__status=Return.Status.REFUNDED)
        .values(refund_group)
        .annotate(amount=Sum("refund_amount"), units=Sum("quantity"))
        .order_by()
    ):
        item = ranked.get(row[refund_group])
        if item is not None:
            item.refunds += row["amount"] or ZERO
            item.revenue -= row["amount"] or ZERO
            item.units -= row["units"] or 0
    return ranked


def top_products(
    *, store: Store, date_from: date, date_to: date, statuses=None, limit: int | None = None
) -> list[Ranked]:
    """Products by net revenue (line totals after discount, minus refunded lines)."""
    ranked = _line_rankings(
        store=store,
        date_from=date_from,
        date_to=date_to,
        statuses=statuses,
        group="variant__product_id",
        label_field="product_name",
    )
    names = dict(Product.objects.filter(pk__in=[k for k in ranked if k]).values_list("pk", "name"))
    for key, item in ranked.items():
        item.label = names.get(key) or item.label or _("(deleted product)")
    rows = sorted(ranked.values(), key=lambda r: (-r.revenue, -r.units, r.label))
    return rows[: limit or settings.REPORTS_TOP_N]


def top_categories(
    *, store: Store, date_from: date, date_to: date, statuses=None, limit: int | None = None
) -> list[Ranked]:
    """Categories (the product's own category, shown with its path) by net revenue."""
    ranked = _line_rankings(
        store=store,
        date_from=date_from,
        date_to=date_to,
        statuses=statuses,
        group="variant__product__category_id",
        label_field=None,
    )
    categories = {c.pk: c for c in Category.objects.filter(store=store)}
    for key, item in ranked.items():
        item.label = _category_label(categories, key) if key else _("(no category)")
    rows = sorted(ranked.values(), key=lambda r: (-r.revenue, -r.units, r.label))
    return rows[: limit or settings.REPORTS_TOP_N]


def _category_label(categories: dict[int, Category], pk: int) -> str:
    category = categories.get(pk)
    if category is None:
        return _("(deleted category)")
    chain = [int(p) for p in category.path.strip("/").split("/") if p.isdigit()] or [pk]
    return " › ".join(categories[c].name for c in chain if c in categories)


def sales_by_channel(*, store: Store, date_from: date, date_to: date, statuses=None) -> list[Ranked]:
    """Every channel (storefront, API, marketplace, admin), those without orders as zeros."""
    start, end = bounds(date_from, date_to, store.zone)
    orders = Order.objects.filter(
        store=store, status__in=_statuses(statuses), created_at__gte=start, created_at__lt=end
    )
    rows = {c.value: Ranked(key=c.value, label=str(c.label), revenue=ZERO) for c in Order.Channel}
    for row in orders.values("channel").annotate(gross=Sum("total"), n=Count("id")).order_by():
        item = rows.setdefault(row["channel"], Ranked(key=row["channel"], label=row["channel"], revenue=ZERO))
        item.gross, item.orders = row["gross"] or ZERO, row["n"]
    for row in (
        Return.objects.filter(order__in=orders, status=Return.Status.REFUNDED)
        .values("order__channel")
        .annotate(amount=Sum("refund_amount"))
        .order_by()
    ):
        rows[row["order__channel"]].refunds = row["amount"] or ZERO
    for row in (
        ReturnLine.objects.filter(
            return_request__order__in=orders, return_request__status=Return.Status.REFUNDED
        )
        .values("return_request__order__channel")
        .annotate(units=Sum("quantity"))
        .order_by()
    ):
        rows[row["return_request__order__channel"]].units -= row["units"] or 0
    for row in (
        OrderLine.objects.filter(order__in=orders)
        .values("order__channel")
        .annotate(units=Sum("quantity"))
        .order_by()
    ):
        rows[row["order__channel"]].units += row["units"] or 0
    for item in rows.values():
        item.revenue = item.gross - item.refunds
    return sorted(rows.values(), key=lambda r: (-r.revenue, r.label))


@dataclass
class SalesOverview:
    """Everything the sales page, its PDF/XLSX and the API show for one set of parameters."""

    series: SalesSeries
    previous: SalesSeries | None
    products: list[Ranked]
    categories: list[Ranked]
    channels: list[Ranked]

    @property
    def comparison(self) -> list[dict]:
        from .formatting import change_percent

        now = self.series.totals
        before = self.previous.totals if self.previous else {}
        return [
            {
                "key": key,
                "current": now[key],
                "previous": before.get(key),
                "change": change_percent(now[key], before.get(key)),
            }
            for key in ("revenue", "gross", "refunds", "orders", "units", "average_order_value")
        ]

    def previous_aligned(self, metric: str) -> list:
        """The previous period's ``metric`` per bucket, padded/cut to this range's buckets."""
        if self.previous is None:
            return []
        values = list(getattr(self.previous, metric))
        n = len(self.series.periods)
        zero = ZERO if metric != "units" and metric != "orders" else 0
        return (values + [zero] * n)[:n]


def sales_overview(
    *,
    store: Store,
    date_from: date,
    date_to: date,
    granularity: str = DAY,
    product_ids: Sequence[int] | None = None,
    statuses: Sequence[str] | None = None,
    compare: bool = True,
) -> SalesOverview:
    series = sales_series(
        store=store,
        date_from=date_from,
        date_to=date_to,
        granularity=granularity,
        product_ids=product_ids,
        statuses=statuses,
    )
    previous = None
    if compare:
        prev_from, prev_to = previous_range(date_from, date_to, granularity)
        previous = sales_series(
            store=store,
            date_from=prev_from,
            date_to=prev_to,
            granularity=granularity,
            product_ids=product_ids,
            statuses=statuses,
        )
    common = {"store": store, "date_from": date_from, "date_to": date_to, "statuses": statuses}
    return SalesOverview(
        series=series,
        previous=previous,
        products=top_products(**common),
        categories=top_categories(**common),
        channels=sales_by_channel(**common),
    )


# --- Orders -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilters:
    """What an order report lists: orders placed in [date_from, date_to] (local dates) that match
    every non-empty filter (an empty tuple means "any")."""

    date_from: date
    date_to: date
    statuses: tuple[str, ...] = ()
    payment_statuses: tuple[str, ...] = ()
    shipping_method_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()


def orders_queryset(*, store: Store, filters: OrderFilters):
    start, end = bounds(filters.date_from, filters.date_to, store.zone)
    qs = Order.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.payment_statuses:
        qs = qs.filter(payment_status__in=filters.payment_statuses)
    if filters.shipping_method_ids:
        qs = qs.filter(shipping_method_id__in=filters.shipping_method_ids)
    if filters.channels:
        qs = qs.filter(channel__in=filters.channels)
    return qs


def order_count(*, store: Store, filters: OrderFilters) -> int:
    return orders_queryset(store=store, filters=filters).count()


ORDER_ROW_FIELDS = (
    "number",
    "created_at",
    "status",
    "payment_status",
    "channel",
    "email",
    "customer",
    "shipping_method",
    "payment_method",
    "items",
    "subtotal",
    "discount",
    "shipping",
    "total",
    "refunded",
    "net",
    "currency",
)


def order_rows(*, store: Store, filters: OrderFilters, chunk_size: int | None = None) -> Iterator[dict]:
    """One dict per order (keys: :data:`ORDER_ROW_FIELDS`), oldest first, streamed from the
    database in chunks (``.values()`` + ``iterator``): memory stays flat for 100,000 orders.

    ``created_at`` is aware, in the store's zone; money is ``Decimal``; ``refunded`` sums the
    order's refunded returns and ``net = total - refunded``.
    """
    zone = store.zone
    items = (
        OrderLine.objects.filter(order=OuterRef("pk")).values("order").annotate(s=Sum("quantity")).values("s")
    )
    refunded = (
        Return.objects.filter(order=OuterRef("pk"), status=Return.Status.REFUNDED)
        .values("order")
        .annotate(s=Sum("refund_amount"))
        .values("s")
    )
    qs = (
        orders_queryset(store=store, filters=filters)
        .annotate(
            items_sum=Coalesce(Subquery(items, output_field=IntegerField()), Value(0)),
            refunded_sum=Coalesce(Subquery(refunded, output_field=MONEY_FIELD), Value(ZERO)),
        )
        .order_by("created_at", "pk")
        .values(
            "number",
            "created_at",
            "status",
            "payment_status",
            "channel",
            "email",
            "billing_address__first_name",
            "billing_address__last_name",
            "billing_address__company_name",
            "shipping_address__first_name",
            "shipping_address__last_name",
            "shipping_method_name",
            "payment_method_name",
            "items_sum",
            "subtotal",
            "discount_total",
            "shipping_total",
            "total",
            "refunded_sum",
            "currency",
        )
    )
    status_labels = dict(Order.Status.choices)
    payment_labels = dict(Order.PaymentStatus.choices)
    channel_labels = dict(Order.Channel.choices)
    for row in qs.iterator(chunk_size=chunk_size or settings.REPORTS_CHUNK_SIZE):
        name = " ".join(
            p for p in (row["billing_address__first_name"], row["billing_address__last_name"]) if p
        ) or " ".join(
            p for p in (row["shipping_address__first_name"], row["shipping_address__last_name"]) if p
        )
        company = row["billing_address__company_name"]
        refunded_sum = row["refunded_sum"] or ZERO
        yield {
            "number": row["number"],
            "created_at": timezone.localtime(row["created_at"], zone),
            "status": str(status_labels.get(row["status"], row["status"])),
            "payment_status": str(payment_labels.get(row["payment_status"], row["payment_status"])),
            "channel": str(channel_labels.get(row["channel"], row["channel"])),
            "email": row["email"],
            "customer": f"{name} ({company})" if company and name else (company or name),
            "shipping_method": row["shipping_method_name"],
            "payment_method": row["payment_method_name"],
            "items": row["items_sum"] or 0,
            "subtotal": row["subtotal"],
            "discount": row["discount_total"],
            "shipping": row["shipping_total"],
            "total": row["total"],
            "refunded": money(refunded_sum),
            "net": money(row["total"] - refunded_sum),
            "currency": row["currency"],
        }


def shipping_methods(*, store: Store):
    return ShippingMethod.objects.filter(store=store).order_by("position", "name")


# --- Stock ------------------------------------------------------------------------------------


def stock_queryset(*, store: Store, only_below_threshold: bool = False, warehouse_id: int | None = None):
    """Variants whose stock is counted (tracked, not pre-order, not sets -- a set's stock is its
    components'), annotated with ``on_hand`` (active warehouses, or one), ``reserved`` (holds not
    yet expired) and ``available``; ``only_below_threshold`` keeps those at or under their
    low-stock threshold, as the storefront's "low stock" badge does."""
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
    qs = (
        Variant.objects.filter(store=store, track_stock=True, is_preorder=False)
        .exclude(product__kind__in=[Product.Kind.SET, Product.Kind.DIGITAL, Product.Kind.GIFT_CARD])
        .annotate(
            on_hand=Coalesce(Subquery(on_hand, output_field=IntegerField()), Value(0)),
            reserved=Coalesce(Subquery(reserved, output_field=IntegerField()), Value(0)),
        )
        .annotate(available=F("on_hand") - F("reserved"))
    )
    if only_below_threshold:
        qs = qs.filter(available__lte=F("low_stock_threshold"))
    return qs.order_by("product__name", "sku", "pk")


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


def stock_count(*, store: Store, only_below_threshold: bool = False, warehouse_id: int | None = None) -> int:
    return stock_queryset(
        store=store, only_below_threshold=only_below_threshold, warehouse_id=warehouse_id
    ).count()


# --- Cart recovery ----------------------------------------------------------------------------

RECOVERY_COUNTS = ("abandoned", "reachable", "treated", "holdout", "sent", "opened", "clicked", "recovered")


def _percent(value) -> Decimal | None:
    return None if value is None else (Decimal(str(value)) * 100).quantize(Decimal("0.1"))


def _recovery_row(label: str, d) -> dict:
    return {
        "campaign": label,
        **{key: getattr(d, key) for key in RECOVERY_COUNTS},
        "recovered_revenue": d.recovered_revenue,
        "recovery_rate": _percent(d.recovery_rate),
        "open_rate": _percent(d.open_rate),
        "click_rate": _percent(d.click_rate),
        "lift": _percent(d.lift),
    }


def recovery_rows(*, store: Store, date_from: date, date_to: date) -> tuple[list[dict], dict]:
    """Cart recovery per campaign for carts abandoned in the range, and the whole-store row.

    The figures are the recovery app's own (``recovery.selectors.dashboard``: the same numbers
    as its dashboard), one call per campaign that had abandoned carts in the range; carts no
    campaign picked up are the difference to the whole-store figures. Rates are percentages:
    recovered / reachable, opened and clicked / sent; ``lift`` is the treated minus the control
    group's conversion rate (percentage points).
    """
    from recovery.models import Campaign, TrackedCart
    from recovery.selectors import dashboard

    start, end = bounds(date_from, date_to, store.zone)
    total = dashboard(store=store, start=date_from, end=date_to)
    campaign_ids = (
        TrackedCart.objects.filter(
            store=store, abandoned_at__gte=start, abandoned_at__lt=end, campaign__isnull=False
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    rows = []
    for campaign in Campaign.objects.filter(pk__in=list(campaign_ids)).order_by("name", "pk"):
        rows.append(
            _recovery_row(
                campaign.name, dashboard(store=store, start=date_from, end=date_to, campaign=campaign)
            )
        )
    rest = {key: getattr(total, key) - sum(r[key] for r in rows) for key in RECOVERY_COUNTS}
    if rest["abandoned"] > 0:
        revenue = total.recovered_revenue - sum((r["recovered_revenue"] for r in rows), ZERO)
        rows.append(
            {
                "campaign": _("(no campaign)"),
                **rest,
                "recovered_revenue": revenue,
                "recovery_rate": _percent(rest["recovered"] / rest["reachable"])
                if rest["reachable"]
                else None,
                "open_rate": _percent(rest["opened"] / rest["sent"]) if rest["sent"] else None,
                "click_rate": _percent(rest["clicked"] / rest["sent"]) if rest["sent"] else None,
                "lift": None,
            }
        )
    rows.sort(key=lambda r: (-r["recovered_revenue"], r["campaign"]))
    return rows, _recovery_row(_("Whole store"), total)


def default_range(*, store: Store, days: int = 30) -> tuple[date, date]:
    """The last ``days`` local days up to today, in the store's zone."""
    today = timezone.localdate(timezone=store.zone)
    return today - timedelta(days=days - 1), today
