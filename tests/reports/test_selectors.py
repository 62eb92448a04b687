"""Sales numbers against the hand-computed shop in conftest.py."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from orders.models import Order
from reports import selectors
from reports.periods import add_months, bounds, period_starts, previous_range

from .factories import make_order

D = Decimal
JAN14, JAN16 = date(2025, 1, 14), date(2025, 1, 16)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def series(shop, **kwargs):
    params = {"store": shop.store, "date_from": JAN14, "date_to": JAN16, "granularity": "day", **kwargs}
    return selectors.sales_series(**params)


def test_whole_store_by_day_cuts_days_in_warsaw_time(shop):
    s = series(shop)
    assert s.periods == [date(2025, 1, 14), date(2025, 1, 15), date(2025, 1, 16)]
    assert s.gross == [D("215.00"), D("190.00"), D("0.00")]
    assert s.refunds == [D("0.00"), D("100.00"), D("0.00")]
    assert s.revenue == [D("215.00"), D("90.00"), D("0.00")]
    assert s.orders == [1, 2, 0]  # o2 was placed at 00:30 Warsaw time on the 15th (23:30 UTC the 14th)
    assert s.units == [2, 2, 0]
    assert s.variants == []
    assert s.totals == {
        "gross": D("405.00"),
        "refunds": D("100.00"),
        "revenue": D("305.00"),
        "units": 4,
        "orders": 3,
        "average_order_value": D("135.00"),
    }


def test_the_numbers_agree_with_the_orders_table(shop):
    totals = series(shop).totals
    start, end = bounds(JAN14, JAN16, shop.store.zone)
    paid = Order.objects.filter(
        store=shop.store, status__in=selectors.PAID_STATUSES, created_at__gte=start, created_at__lt=end
    )
    assert totals["orders"] == paid.count()
    assert totals["gross"] == sum(o.total for o in paid)


def test_status_filter_includes_unpaid_orders_when_asked(shop):
    s = series(shop, statuses=[Order.Status.AWAITING_PAYMENT])
    assert s.orders == [0, 1, 0]
    assert s.gross == [D("0.00"), D("150.00"), D("0.00")]


def test_products_split_per_variant_with_refunds_subtracted(shop):
    s = series(shop, product_ids=[shop.shirt.pk])
    assert s.gross == [D("200.00"), D("150.00"), D("0.00")]
    assert s.refunds == [D("0.00"), D("100.00"), D("0.00")]
    assert s.revenue == [D("200.00"), D("50.00"), D("0.00")]
    assert s.orders == [1, 2, 0]
    assert s.units == [2, 1, 0]
    by_sku = {v.sku: v for v in s.variants}
    assert set(by_sku) == {"KOSZ-M", "KOSZ-L"}
    assert by_sku["KOSZ-M"].revenue == [D("200.00"), D("0.00"), D("0.00")]
    assert by_sku["KOSZ-M"].units == [2, 0, 0]
    assert by_sku["KOSZ-M"].orders == [1, 1, 0]
    assert by_sku["KOSZ-L"].revenue == [D("0.00"), D("50.00"), D("0.00")]
    assert by_sku["KOSZ-M"].label == "Koszulka Żółw – M"
    assert [v.sku for v in s.variants] == ["KOSZ-M", "KOSZ-L"]  # biggest first


def test_products_of_another_store_match_nothing(shop, other_store):
    from tests.catalog.factories import VariantFactory

    foreign = VariantFactory(store=other_store)
    s = series(shop, product_ids=[foreign.product_id])
    assert s.totals["orders"] == 0 and s.variants == []


def test_week_and_month_buckets(shop):
    week = series(shop, granularity="week")
    assert week.periods == [date(2025, 1, 13)]  # Monday
    assert week.revenue == [D("305.00")] and week.orders == [3]
    month = series(shop, granularity="month", date_from=date(2024, 12, 1), date_to=date(2025, 2, 28))
    assert month.periods == [date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]
    # January holds o1..o3, the "late" order (17th) and the "before" order (12th).
    assert month.revenue == [D("0.00"), D("505.00"), D("0.00")]
    assert month.orders == [0, 5, 0]


def test_day_boundaries_follow_daylight_saving_time(store, shop):
    # 30 March 2025: clocks go forward at 02:00 (UTC+1 -> UTC+2).
    make_order(store, at=datetime(2025, 3, 29, 23, 30, tzinfo=UTC), lines=[(shop.c, 1)])  # 30th 00:30 CET
    make_order(store, at=datetime(2025, 3, 30, 21, 59, tzinfo=UTC), lines=[(shop.c, 2)])  # 30th 23:59 CEST
    make_order(store, at=datetime(2025, 3, 30, 22, 0, tzinfo=UTC), lines=[(shop.c, 4)])  # 31st 00:00 CEST
    s = selectors.sales_series(store=store, date_from=date(2025, 3, 29), date_to=date(2025, 3, 31))
    assert s.units == [0, 3, 4]
    assert s.gross == [D("0.00"), D("90.00"), D("120.00")]


def test_overview_compares_with_the_previous_period(shop):
    overview = selectors.sales_overview(store=shop.store, date_from=JAN14, date_to=JAN16)
    assert (overview.previous.date_from, overview.previous.date_to) == (date(2025, 1, 11), date(2025, 1, 13))
    assert overview.previous.revenue == [D("0.00"), D("100.00"), D("0.00")]
    revenue = next(c for c in overview.comparison if c["key"] == "revenue")
    assert revenue == {
        "key": "revenue",
        "current": D("305.00"),
        "previous": D("100.00"),
        "change": D("205.0"),
    }
    assert overview.previous_aligned("revenue") == [D("0.00"), D("100.00"), D("0.00")]


def test_top_products_categories_and_channels(shop):
    common = {"store": shop.store, "date_from": JAN14, "date_to": JAN16}
    products = selectors.top_products(**common)
    assert [(p.label, p.revenue, p.units, p.refunds) for p in products] == [
        ("Koszulka Żółw", D("250.00"), 3, D("100.00")),
        ("Kubek", D("30.00"), 1, D("0.00")),
    ]
    categories = selectors.top_categories(**common)
    assert [(c.label, c.revenue) for c in categories] == [
        ("Odzież › Koszulki", D("250.00")),
        ("(no category)", D("30.00")),
    ]
    channels = {c.key: c for c in selectors.sales_by_channel(**common)}
    assert channels["storefront"].gross == D("215.00") and channels["storefront"].orders == 1
    assert channels["api"].revenue == D("90.00") and channels["api"].units == 2
    assert channels["marketplace"].gross == D("100.00")
    assert channels["marketplace"].refunds == D("100.00")
    assert channels["marketplace"].revenue == D("0.00")
    assert channels["admin"].orders == 0  # present, as zero
    assert channels["storefront"].average_order_value == D("215.00")


def test_order_rows_filters_and_shapes(shop):
    f = selectors.OrderFilters(date_from=JAN14, date_to=JAN16)
    rows = list(selectors.order_rows(store=shop.store, filters=f))
    assert [r["number"] for r in rows] == [
        o.number for o in (shop.o1, shop.o2, shop.unpaid, shop.o3, shop.cancelled)
    ]
    o2 = rows[1]
    assert o2["created_at"].replace(tzinfo=None) == datetime(2025, 1, 15, 0, 30)
    assert o2["customer"] == "Jan Brzęczyszczykiewicz (Łódź Sp. z o.o.)"
    assert (o2["items"], o2["total"], o2["refunded"], o2["net"]) == (2, D("90.00"), D("0.00"), D("90.00"))
    assert rows[3]["refunded"] == D("100.00") and rows[3]["net"] == D("0.00")
    assert selectors.order_count(store=shop.store, filters=f) == 5

    def numbers(**kw):
        filters = selectors.OrderFilters(date_from=JAN14, date_to=JAN16, **kw)
        return [r["number"] for r in selectors.order_rows(store=shop.store, filters=filters)]

    assert numbers(statuses=("paid",)) == [shop.o1.number, shop.o2.number]
    assert numbers(channels=("api",)) == [shop.o2.number]
    assert numbers(payment_statuses=("unpaid",)) == [shop.unpaid.number, shop.cancelled.number]
    assert numbers(shipping_method_ids=(shop.dpd.pk,)) == [shop.o1.number]


def test_periods_helpers():
    assert period_starts(date(2025, 1, 30), date(2025, 3, 1), "month") == [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]
    assert previous_range(date(2025, 3, 1), date(2025, 3, 31), "month") == (
        date(2025, 2, 1),
        date(2025, 2, 28),
    )
    assert previous_range(date(2025, 1, 6), date(2025, 1, 15), "week") == (
        date(2024, 12, 23),
        date(2025, 1, 1),
    )
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
