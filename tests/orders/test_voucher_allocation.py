"""A fixed-amount voucher is split over the lines exactly (largest remainder): never a negative
line discount, never more than a line's total, and the shares add up to the voucher."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order, Voucher
from shop.money import allocate
from tests.catalog.factories import VariantFactory
from tests.orders.factories import VoucherFactory, ready_cart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
D = Decimal


def test_a_voucher_that_used_to_give_the_last_line_a_negative_discount_places_the_order(store):
    # Proportional shares rounded per line (0.19 + 0.12 + 0.04) overshot 0.34: the last line got
    # -0.01, the order insert broke the discount >= 0 constraint (HTTP 500) on every attempt.
    variants = [VariantFactory(store=store, stock=5, price=D(p)) for p in ("19.63", "12.32", "3.78", "0.26")]
    cart = ready_cart(store, [(v, 1) for v in variants])
    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("0.34"))
    services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])
    order = services.place_order(cart=cart)
    discounts = [line.discount for line in order.lines.order_by("pk")]
    assert min(discounts) >= 0 and sum(discounts) == D("0.34") == order.discount_total
    assert Order.objects.filter(pk=order.pk).exists()


def test_the_whole_voucher_is_given_when_a_small_last_line_cannot_take_the_remainder(store):
    # The old split gave 2.13 + 0.19 + 2.38 and capped the last line at 0.04: 4.74 of 4.75.
    variants = [VariantFactory(store=store, stock=5, price=D(p)) for p in ("2.30", "0.21", "2.57", "0.04")]
    cart = ready_cart(store, [(v, 1) for v in variants])
    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("4.75"))
    services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])
    order = services.place_order(cart=cart)
    assert order.discount_total == D("4.75")
    assert all(0 <= line.discount <= line.total for line in order.lines.all())


@pytest.mark.parametrize(
    ("amount", "weights", "expected"),
    [
        (
            D("0.34"),
            [D("19.63"), D("12.32"), D("3.78"), D("0.26")],
            [D("0.18"), D("0.12"), D("0.04"), D("0")],
        ),
        (D("0.02"), [D("1"), D("1"), D("1")], [D("0.01"), D("0.01"), D("0")]),  # ties: earlier line first
        (D("10.00"), [D("10.00")], [D("10.00")]),
        (D("0"), [D("5"), D("5")], [D("0"), D("0")]),
        (D("3.00"), [D("1.00"), D("2.00")], [D("1.00"), D("2.00")]),  # whole total: each line in full
    ],
)
def test_allocate_largest_remainder(amount, weights, expected):
    assert allocate(amount, weights) == expected


def test_allocate_refuses_more_than_the_weights_or_a_negative_amount():
    with pytest.raises(ValueError):
        allocate(D("3.01"), [D("1.00"), D("2.00")])
    with pytest.raises(ValueError):
        allocate(D("-0.01"), [D("1.00")])
