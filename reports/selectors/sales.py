"""The sales report: revenue, units and orders per period (the whole store or some products,
per variant), rankings of products, categories and channels, and the overview that puts them
together for the sales page, its exports and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    Max,
    Q,
    Sum,
)
from django.utils.translation import gettext as _

from catalog.models import Category, Product
from orders.models import Order, OrderLine, Return, ReturnLine
from orders.models.common import money
from shop.models import Store

from ..periods import DAY, bounds, period_label, period_starts, previous_range
from .common import MONEY_FIELD, ZERO, completed_refunds, counted_statuses, period_key, trunc


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
    statuses = counted_statuses(statuses)
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
        orders.annotate(period=trunc("created_at", granularity, zone))
        .values("period")
        .annotate(gross=Sum("total"), n=Count("id"))
        .order_by()
    ):
        i = index[period_key(row["period"], zone)]
        result.gross[i] += row["gross"] or ZERO
        result.orders[i] += row["n"]
    for row in (
        OrderLine.objects.filter(order__in=orders)
        .annotate(period=trunc("order__created_at", granularity, zone))
        .values("period")
        .annotate(units=Sum("quantity"))
        .order_by()
    ):
        result.units[index[period_key(row["period"], zone)]] += row["units"] or 0
    for refunds, amount in completed_refunds(order__in=orders):
        for row in (
            refunds.annotate(period=trunc("order__created_at", granularity, zone))
            .values("period")
            .annotate(amount=Sum(amount))
            .order_by()
        ):
            result.refunds[index[period_key(row["period"], zone)]] += row["amount"] or ZERO
    for row in (
        ReturnLine.objects.filter(
            return_request__order__in=orders, return_request__status=Return.Status.REFUNDED
        )
        .annotate(period=trunc("return_request__order__created_at", granularity, zone))
        .values("period")
        .annotate(units=Sum("quantity"))
        .order_by()
    ):
        result.units[index[period_key(row["period"], zone)]] -= row["units"] or 0


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
        lines.annotate(period=trunc("order__created_at", granularity, zone))
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
        i = index[period_key(row["period"], zone)]
        v = variant(row)
        v.revenue[i] += row["gross"] or ZERO
        v.units[i] += row["units"] or 0
        v.orders[i] += row["n"]
        result.gross[i] += row["gross"] or ZERO
        result.units[i] += row["units"] or 0
    for row in (
        lines.annotate(period=trunc("order__created_at", granularity, zone))
        .values("period")
        .annotate(n=Count("order_id", distinct=True))
        .order_by()
    ):
        result.orders[index[period_key(row["period"], zone)]] = row["n"]
    for row in (
        ReturnLine.objects.filter(order_line__in=lines, return_request__status=Return.Status.REFUNDED)
        .annotate(period=trunc("order_line__order__created_at", granularity, zone))
        .values("period", "order_line__variant_id")
        .annotate(amount=Sum("refund_amount"), units=Sum("quantity"))
        .order_by()
    ):
        i = index[period_key(row["period"], zone)]
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
        order__status__in=counted_statuses(statuses),
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

    def label(ranked: dict) -> None:
        names = dict(Product.objects.filter(pk__in=[k for k in ranked if k]).values_list("pk", "name"))
        for key, item in ranked.items():
            item.label = names.get(key) or item.label or _("(deleted product)")

    return _top(
        store,
        date_from,
        date_to,
        statuses,
        limit,
        group="variant__product_id",
        label_field="product_name",
        label=label,
    )


def top_categories(
    *, store: Store, date_from: date, date_to: date, statuses=None, limit: int | None = None
) -> list[Ranked]:
    """Categories (the product's own category, shown with its path) by net revenue."""

    def label(ranked: dict) -> None:
        categories = {c.pk: c for c in Category.objects.filter(store=store)}
        for key, item in ranked.items():
            item.label = _category_label(categories, key) if key else _("(no category)")

    return _top(
        store,
        date_from,
        date_to,
        statuses,
        limit,
        group="variant__product__category_id",
        label_field=None,
        label=label,
    )


def _top(
    store, date_from, date_to, statuses, limit, *, group: str, label_field: str | None, label
) -> list[Ranked]:
    """One ranking rule for products and categories: net revenue, then units, then name."""
    ranked = _line_rankings(
        store=store,
        date_from=date_from,
        date_to=date_to,
        statuses=statuses,
        group=group,
        label_field=label_field,
    )
    label(ranked)
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
        store=store, status__in=counted_statuses(statuses), created_at__gte=start, created_at__lt=end
    )
    rows = {c.value: Ranked(key=c.value, label=str(c.label), revenue=ZERO) for c in Order.Channel}
    for row in orders.values("channel").annotate(gross=Sum("total"), n=Count("id")).order_by():
        item = rows.setdefault(row["channel"], Ranked(key=row["channel"], label=row["channel"], revenue=ZERO))
        item.gross, item.orders = row["gross"] or ZERO, row["n"]
    for refunds, amount in completed_refunds(order__in=orders):
        for row in refunds.values("order__channel").annotate(amount=Sum(amount)).order_by():
            rows[row["order__channel"]].refunds += row["amount"] or ZERO
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
        from shop.numbers import change_percent

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


# --- Totals of several stores at once (the admin home page) -----------------------------------


@dataclass
class SalesTotals:
    """Sales of the stores of one currency over a few windows of whole local days, each window
    counted on each store's own wall clock with the rules of :func:`sales_series`: paid
    statuses, ``created_at`` decides the day, completed refunds subtracted.

    ``figures[key]`` holds ``gross``, ``refunds``, ``revenue`` and ``orders``; ``bounds[key]``
    is the window as aware [start, end) when the stores share one time zone (``None`` when they
    do not, then no single date filter matches the window).
    """

    currency: str
    store_ids: list[int]
    figures: dict[str, dict]
    bounds: dict[str, tuple] | None


def sales_totals(
    *,
    stores: Sequence[Store],
    windows: dict[str, tuple[int, int]],
    statuses: Sequence[str] | None = None,
    now=None,
) -> list[SalesTotals]:
    """Sales of ``stores`` per window, one :class:`SalesTotals` per currency (by currency code).

    ``windows`` maps a key to (first day, last day) counted back from today: ``(0, 0)`` is
    today, ``(6, 0)`` the last 7 days, ``(13, 7)`` the 7 days before. Costs 3 queries, whatever
    the number of stores, windows or orders.
    """
    from collections import defaultdict
    from datetime import timedelta
    from functools import reduce
    from operator import or_

    from django.utils import timezone

    if not stores or not windows:
        return []
    now = now or timezone.now()
    zones: dict[str, list[Store]] = defaultdict(list)
    for store in stores:
        zones[store.timezone].append(store)
    window_bounds: dict[tuple[str, str], tuple] = {}
    for zone_name, group in zones.items():
        zone = group[0].zone
        today = timezone.localdate(now, timezone=zone)
        for key, (back_from, back_to) in windows.items():
            window_bounds[zone_name, key] = bounds(
                today - timedelta(days=back_from), today - timedelta(days=back_to), zone
            )

    def window_q(key: str, prefix: str = "") -> Q:
        return reduce(
            or_,
            (
                Q(
                    **{
                        f"{prefix}store__in": [s.pk for s in group],
                        f"{prefix}created_at__gte": window_bounds[zone_name, key][0],
                        f"{prefix}created_at__lt": window_bounds[zone_name, key][1],
                    }
                )
                for zone_name, group in zones.items()
            ),
        )

    orders = Order.objects.filter(
        reduce(or_, (window_q(key) for key in windows)), status__in=counted_statuses(statuses)
    )
    currencies: dict[str, list[Store]] = defaultdict(list)
    for store in stores:
        currencies[store.currency].append(store)
    empty = {"gross": ZERO, "refunds": ZERO, "revenue": ZERO, "orders": 0}
    figures = {c: {key: dict(empty) for key in windows} for c in currencies}
    for row in (
        orders.values("store__currency")
        .annotate(
            **{f"g_{k}": Sum("total", filter=window_q(k)) for k in windows},
            **{f"n_{k}": Count("id", filter=window_q(k)) for k in windows},
        )
        .order_by()
    ):
        for key in windows:
            figures[row["store__currency"]][key]["gross"] += row[f"g_{key}"] or ZERO
            figures[row["store__currency"]][key]["orders"] += row[f"n_{key}"]
    for refunds, amount in completed_refunds(order__in=orders):
        for row in (
            refunds.values("order__store__currency")
            .annotate(**{f"r_{k}": Sum(amount, filter=window_q(k, "order__")) for k in windows})
            .order_by()
        ):
            for key in windows:
                figures[row["order__store__currency"]][key]["refunds"] += row[f"r_{key}"] or ZERO
    result = []
    for currency, group in sorted(currencies.items()):
        for values in figures[currency].values():
            values["revenue"] = values["gross"] - values["refunds"]
        group_zones = {s.timezone for s in group}
        shared = None
        if len(group_zones) == 1:
            zone_name = group_zones.pop()
            shared = {key: window_bounds[zone_name, key] for key in windows}
        result.append(
            SalesTotals(
                currency=currency,
                store_ids=sorted(s.pk for s in group),
                figures=figures[currency],
                bounds=shared,
            )
        )
    return result
