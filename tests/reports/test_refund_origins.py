"""Reports subtract every completed refund once, whatever started it: the admin's refund page
(a manual gateway refund), an accepted return refunded through the gateway, a return marked
refunded outside the gateway, and the gateway refund of a cancelled paid order. Pending and
failed gateway refunds are not money given back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from orders.models import Order, Payment, PaymentRefund, Return
from reports import selectors
from reports.selectors import OrderFilters
from tests.catalog.factories import VariantFactory

from .factories import make_order, refund

pytestmark = pytest.mark.django_db
D = Decimal
DAY = date(2025, 3, 10)
AT = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)


def gateway_refund(order, amount, *, source=PaymentRefund.Source.MANUAL, status="succeeded", ret=None):
    payment = order.payments.first() or Payment.objects.create(
        order=order, provider="test_gateway", amount=order.total, status=Payment.Status.PAID
    )
    return PaymentRefund.objects.create(
        payment=payment,
        order=order,
        amount=amount,
        currency="PLN",
        source=source,
        status=status,
        return_request=ret,
    )


def figures(store, statuses=None):
    rows = list(
        selectors.order_rows(
            store=store, filters=OrderFilters(date_from=DAY, date_to=DAY, statuses=tuple(statuses or ()))
        )
    )
    series = selectors.sales_series(
        store=store, date_from=DAY, date_to=DAY, granularity="day", statuses=statuses
    )
    channels = {
        r.key: r
        for r in selectors.sales_by_channel(store=store, date_from=DAY, date_to=DAY, statuses=statuses)
    }
    return {r["number"]: r["refunded"] for r in rows}, series, channels


@pytest.fixture
def variant(store):
    return VariantFactory(store=store, price=D("100.00"))


def test_a_refund_from_the_admin_refund_page_is_subtracted(store, variant):
    order = make_order(store, at=AT, lines=[(variant, 1)], status=Order.Status.DELIVERED)
    gateway_refund(order, D("30.00"))
    gateway_refund(order, D("5.00"), status=PaymentRefund.Status.PENDING)  # not given back yet
    gateway_refund(order, D("7.00"), status=PaymentRefund.Status.FAILED)
    refunded, series, channels = figures(store)
    assert refunded[order.number] == D("30.00")
    assert series.refunds == [D("30.00")] and series.revenue == [D("70.00")]
    assert channels[Order.Channel.STOREFRONT].revenue == D("70.00")


def test_a_return_refunded_through_the_gateway_counts_once(store, variant):
    order = make_order(store, at=AT, lines=[(variant, 2)], status=Order.Status.RETURNED)
    ret = refund(order.lines.get(), quantity=1, amount=D("100.00"))
    gateway_refund(order, D("100.00"), source=PaymentRefund.Source.RETURN, ret=ret)
    refunded, series, _ = figures(store)
    assert refunded[order.number] == D("100.00")
    assert series.refunds == [D("100.00")] and series.revenue == [D("100.00")]


def test_a_return_refunded_outside_the_gateway_counts(store, variant):
    order = make_order(store, at=AT, lines=[(variant, 3)], status=Order.Status.RETURNED)
    refund(order.lines.get(), quantity=2, amount=D("200.00"))
    # Accepted, not refunded yet: nothing given back.
    refund(order.lines.get(), quantity=1, amount=D("100.00"), status=Return.Status.ACCEPTED)
    refunded, series, _ = figures(store)
    assert refunded[order.number] == D("200.00") and series.revenue == [D("100.00")]


def test_the_gateway_refund_of_a_cancelled_paid_order_counts_where_cancelled_orders_are_counted(
    store, variant
):
    order = make_order(store, at=AT, lines=[(variant, 1)], status=Order.Status.CANCELLED)
    gateway_refund(order, D("100.00"), source=PaymentRefund.Source.CANCELLATION)
    refunded, series, channels = figures(store, statuses=[Order.Status.CANCELLED])
    assert refunded[order.number] == D("100.00")
    assert series.gross == [D("100.00")] and series.revenue == [D("0.00")]
    assert channels[Order.Channel.STOREFRONT].refunds == D("100.00")
    # By default (paid statuses) the cancelled order and its refund are both left out.
    _, default_series, _ = figures(store)
    assert default_series.gross == [D("0")] and default_series.refunds == [D("0")]


def test_every_origin_on_one_order_adds_up(store, variant):
    order = make_order(store, at=AT, lines=[(variant, 3)], status=Order.Status.DELIVERED)
    by_gateway = refund(order.lines.get(), quantity=1, amount=D("100.00"))
    gateway_refund(order, D("100.00"), source=PaymentRefund.Source.RETURN, ret=by_gateway)
    refund(order.lines.get(), quantity=1, amount=D("50.00"))  # cash back in the shop
    gateway_refund(order, D("20.00"))  # goodwill refund from the admin
    refunded, series, _ = figures(store)
    assert refunded[order.number] == D("170.00")
    assert series.refunds == [D("170.00")] and series.revenue == [D("130.00")]


def test_the_orders_csv_refunded_column_has_the_refund_page_refund(store, variant):
    import csv
    import io

    from django.utils import translation

    from reports import services

    order = make_order(store, at=AT, lines=[(variant, 1)], status=Order.Status.DELIVERED)
    gateway_refund(order, D("30.00"))
    with translation.override("en"):
        result = services.export(
            store=store, kind="orders", fmt="csv", params={"date_from": str(DAY), "date_to": str(DAY)}
        )
    rows = list(csv.reader(io.StringIO(result.file.read().decode("utf-8-sig")), delimiter=";"))
    header, row = rows[0], rows[1]
    assert row[header.index("Refunded")] == "30,00" and row[header.index("After refunds")] == "70,00"


def test_the_orders_refunded_total_is_the_reports_figure(store, variant):
    from orders.payments.refunds import refunded_total

    order = make_order(store, at=AT, lines=[(variant, 3)], status=Order.Status.DELIVERED)
    by_gateway = refund(order.lines.get(), quantity=1, amount=D("100.00"))
    gateway_refund(order, D("100.00"), source=PaymentRefund.Source.RETURN, ret=by_gateway)
    refund(order.lines.get(), quantity=1, amount=D("50.00"))
    gateway_refund(order, D("20.00"))
    gateway_refund(order, D("9.00"), status=PaymentRefund.Status.PENDING)
    refunded, _series, _ = figures(store)
    assert refunded_total(order) == refunded[order.number] == D("170.00")
